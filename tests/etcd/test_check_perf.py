"""`etcdctl check perf --load s` runs to completion against raftviz and passes (one
minute of 150 writes/s with latency limits)."""

import subprocess
from pathlib import Path

import pytest

from tests.live.proc_cluster import ProcCluster

pytestmark = [pytest.mark.etcd, pytest.mark.slow]


def test_check_perf_small_load(tmp_path):
    if not Path("/usr/bin/etcdctl").exists():
        pytest.skip("etcdctl 3.4 not installed: apt-get install etcd-client")
    cluster = ProcCluster(tmp_path, heartbeat_ms=100, election_ms=1000)
    cluster.start_all()
    try:
        cluster.leader_index()
        r = subprocess.run(["/usr/bin/etcdctl", "--endpoints", ",".join(cluster.urls),
                            "check", "perf", "--load", "s"],
                           capture_output=True, text=True, timeout=150)
    finally:
        cluster.stop_all()
    verdicts = [l for l in r.stdout.splitlines() if l.startswith(("PASS", "FAIL"))]
    assert r.returncode == 0, r.stdout[-500:] + r.stderr[-500:]
    assert verdicts and all(v.startswith("PASS") for v in verdicts), verdicts
