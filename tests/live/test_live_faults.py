"""Faults on real member processes under write load: kill -9 of a follower and of the
leader, SIGSTOP of the leader, a partition through the fault gate. No acknowledged write
may be lost, and the cluster must recover on its own."""

import signal

import pytest

from engine.runtime.control import ControlClient
from tests.live.proc_cluster import ProcCluster, Writer, read_all

pytestmark = pytest.mark.live


@pytest.fixture
def cluster(tmp_path):
    c = ProcCluster(tmp_path)
    c.start_all()
    try:
        yield c
    finally:
        c.stop_all()


def check_no_acked_write_lost(c: ProcCluster, writer: Writer, reader: int) -> None:
    c.wait_serving(reader)
    present = read_all(c.urls[reader])
    lost = [k for k in writer.acked if k not in present]
    assert not lost, f"{len(lost)} acknowledged writes lost, e.g. {lost[:3]}"


@pytest.mark.parametrize("victim", ["follower", "leader"])
def test_kill_9_under_load(cluster, victim):
    lead = cluster.leader_index()
    i = lead if victim == "leader" else (lead + 1) % 3
    with Writer(cluster.urls) as w:
        w.wait_for(100)
        cluster.kill(i)
        before = len(w.acked)
        w.wait_for(before + 100)           # the survivors go on committing
        cluster.start(i)
        w.wait_for(len(w.acked) + 50)
    cluster.leader_index()
    check_no_acked_write_lost(cluster, w, i)   # read from the restarted member


def test_sigstop_leader_then_continue(cluster):
    lead = cluster.leader_index()
    with Writer(cluster.urls) as w:
        w.wait_for(50)
        cluster.signal(lead, signal.SIGSTOP)
        try:
            before = len(w.acked)
            w.wait_for(before + 50)        # a new leader took over
        finally:
            cluster.signal(lead, signal.SIGCONT)
        w.wait_for(len(w.acked) + 50)
    cluster.leader_index()                 # the cluster settled on one leader
    check_no_acked_write_lost(cluster, w, lead)


def test_partition_leader_through_fault_gate(cluster):
    lead = cluster.leader_index()
    for i in range(len(cluster.urls)):
        cluster.wait_serving(i)     # two members elect a leader before the third serves
    ids = []
    for url in cluster.urls:
        ctl = ControlClient(url)
        ids.append(next(iter(ctl.observe()))["id"])
        ctl.close()
    others = [x for j, x in enumerate(ids) if j != lead]
    with Writer(cluster.urls) as w:
        w.wait_for(50)
        controls = [ControlClient(u) for u in cluster.urls]
        controls[lead].command("cut", peers=others)
        for j, ctl in enumerate(controls):
            if j != lead:
                ctl.command("cut", peers=[ids[lead]])
        before = len(w.acked)
        w.wait_for(before + 50)
        new = cluster.leader_index()
        assert new != lead
        for ctl in controls:
            ctl.command("heal")
            ctl.close()
        w.wait_for(len(w.acked) + 50)
    check_no_acked_write_lost(cluster, w, lead)
