"""The etcdctl scenarios against a raftviz cluster of three `raftviz node` processes must
print exactly what they print against etcd 3.4 (the golden files recorded from it)."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.etcd.run_scenarios import run_all
from tests.etcd.scenarios import SCENARIOS
from tests.live.proc_cluster import ProcCluster

GOLDEN = Path(__file__).parent / "golden"

pytestmark = pytest.mark.etcd


@pytest.fixture(scope="module")
def raftviz_outputs(tmp_path_factory) -> dict[str, str]:
    if not Path("/usr/bin/etcdctl").exists():
        pytest.skip("etcdctl 3.4 not installed: apt-get install etcd-client")
    cluster = ProcCluster(tmp_path_factory.mktemp("raftviz"), prefix="node",
                          heartbeat_ms=100, election_ms=1000)
    cluster.start_all()
    try:
        cluster.leader_index()
        return run_all(cluster.urls)
    finally:
        cluster.stop_all()


@pytest.mark.parametrize("name", [s.name for s in SCENARIOS])
def test_raftviz_matches_etcd(name, raftviz_outputs):
    expected = (GOLDEN / f"{name}.txt").read_text()
    actual = raftviz_outputs[name]
    assert actual == expected, "".join(difflib.unified_diff(
        expected.splitlines(True), actual.splitlines(True), f"etcd/{name}", f"raftviz/{name}"))
