"""The etcdctl scenarios against a real etcd 3.4 cluster must reproduce the golden
transcripts in golden/<scenario>.txt. This proves the scenarios and the normalizer are
deterministic; raftviz must later reproduce the very same files.

Regenerate after changing a scenario or the normalizer: `pytest tests/etcd --rewrite`,
then review the diff of tests/etcd/golden/.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from tests.etcd.etcd_cluster import etcd_cluster
from tests.etcd.run_scenarios import run_all
from tests.etcd.scenarios import SCENARIOS

GOLDEN = Path(__file__).parent / "golden"
NAMES = [s.name for s in SCENARIOS]

pytestmark = pytest.mark.etcd


@pytest.fixture(scope="module")
def reference_outputs() -> dict[str, str]:
    with etcd_cluster() as cluster:
        return run_all(cluster.endpoints)


def unified_diff(expected: str, actual: str, name: str) -> str:
    return "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                        f"golden/{name}.txt", "etcd 3.4"))


@pytest.mark.parametrize("name", NAMES)
def test_scenario_matches_golden(name, reference_outputs, request):
    path = GOLDEN / f"{name}.txt"
    actual = reference_outputs[name]
    if request.config.getoption("--rewrite"):
        path.write_text(actual)
        return
    assert path.exists(), f"no golden file {path.name}: run pytest tests/etcd --rewrite"
    expected = path.read_text()
    assert actual == expected, unified_diff(expected, actual, name)


def test_no_stale_golden_files():
    stale = {p.stem for p in GOLDEN.glob("*.txt")} - set(NAMES)
    assert not stale, f"golden files without a scenario: {sorted(stale)}"
