"""A member added with `member add` joins a running cluster with
--initial-cluster-state existing, learning its id from the cluster, catches up from the
log, and a learner is promoted once it is in sync. A removed member's peer URLs come back
under a new id, as in etcd."""

import subprocess
import sys
import time

import grpc

from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from raftviz.cmd_up import free_ports
from tests.live.proc_cluster import ProcCluster


def stub(url, kind=rpc_pb2_grpc.ClusterStub):
    return kind(grpc.insecure_channel(url.split("://")[1]))


def start_joiner(c: ProcCluster, tmp_path, name: str, peer_url: str, client_url: str,
                 log_name: str | None = None) -> subprocess.Popen:
    initial = ",".join([f"{n}=http://127.0.0.1:{p}" for n, p in zip(c.names, c.peer)]
                       + [f"{name}={peer_url}"])
    return subprocess.Popen(
        [sys.executable, "-m", "raftviz", "node", "--name", name,
         "--data-dir", str(tmp_path / name), "--listen-client-urls", client_url,
         "--listen-peer-urls", peer_url, "--initial-cluster", initial,
         "--initial-cluster-state", "existing", "--initial-cluster-token", "live-test",
         "--heartbeat-interval", "20", "--election-timeout", "200"],
        stdout=open(tmp_path / f"{log_name or name}.log", "ab"), stderr=subprocess.STDOUT)


def member_id_at(client_url: str, timeout: float = 20) -> int:
    """The id a member answers with, once it answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return stub(client_url, rpc_pb2_grpc.MaintenanceStub).Status(
                rpc_pb2.StatusRequest(), timeout=2).header.member_id
        except grpc.RpcError:
            assert time.monotonic() < deadline, f"{client_url} does not answer"
            time.sleep(0.05)


def test_learner_joins_catches_up_and_is_promoted(tmp_path):
    c = ProcCluster(tmp_path)
    c.start_all()
    joiner = None
    try:
        c.leader_index()
        kv = stub(c.urls[0], rpc_pb2_grpc.KVStub)
        for i in range(30):
            kv.Put(rpc_pb2.PutRequest(key=b"before/%d" % i, value=b"v"), timeout=5)
        peer_port, client_port = free_ports(2)
        peer_url = f"http://127.0.0.1:{peer_port}"
        added = stub(c.urls[0]).MemberAdd(
            rpc_pb2.MemberAddRequest(peerURLs=[peer_url], isLearner=True), timeout=10)
        assert added.member.isLearner and len(added.members) == 4
        client_url = f"http://127.0.0.1:{client_port}"
        joiner = start_joiner(c, tmp_path, "n4", peer_url, client_url)
        c.urls.append(client_url)
        c.wait_serving(3)
        local = rpc_pb2.RangeRequest(key=b"before/", range_end=b"before0", serializable=True)
        deadline = time.monotonic() + 20
        while (count := stub(client_url, rpc_pb2_grpc.KVStub).Range(local, timeout=5).count) < 30:
            assert time.monotonic() < deadline, f"learner holds {count} of 30 keys"
            time.sleep(0.05)        # the learner replayed the log, bootstrap entries and all
        lead = c.leader_index()
        promoted = stub(c.urls[lead]).MemberPromote(
            rpc_pb2.MemberPromoteRequest(ID=added.member.ID), timeout=10)
        assert not any(m.isLearner for m in promoted.members)
        members = stub(client_url).MemberList(rpc_pb2.MemberListRequest(), timeout=5).members
        assert {m.name for m in members} == {"n1", "n2", "n3", "n4"}
    finally:
        if joiner is not None:
            joiner.kill()
            joiner.wait()
        c.stop_all()


def add_learner(url: str, peer_url: str, timeout: float = 10) -> int:
    """MemberAdd, asked again while etcd's rule refuses it: an id made in the same second
    as the removal of a member with these peer URLs would be the removed id."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return stub(url).MemberAdd(rpc_pb2.MemberAddRequest(
                peerURLs=[peer_url], isLearner=True), timeout=10).member.ID
        except grpc.RpcError as e:
            assert e.details() == "etcdserver: member not found", e.details()
            assert time.monotonic() < deadline, "MemberAdd kept refusing"
            time.sleep(0.1)


def test_a_removed_members_peer_urls_join_again_under_a_new_id(tmp_path):
    c = ProcCluster(tmp_path)
    c.start_all()
    joiners = []
    try:
        c.leader_index()
        peer_port, client_port = free_ports(2)
        peer_url, client_url = (f"http://127.0.0.1:{peer_port}",
                                f"http://127.0.0.1:{client_port}")
        first = add_learner(c.urls[0], peer_url)
        joiners.append(start_joiner(c, tmp_path, "n4", peer_url, client_url))
        assert member_id_at(client_url) == first      # learned from the cluster
        stub(c.urls[0]).MemberRemove(rpc_pb2.MemberRemoveRequest(ID=first), timeout=10)
        joiners[-1].kill()
        joiners[-1].wait()

        again = add_learner(c.urls[0], peer_url)
        assert again != first
        joiners.append(start_joiner(c, tmp_path, "n4b", peer_url, client_url))
        assert member_id_at(client_url) == again
        # Restarted from its data dir, it keeps the id without asking the cluster.
        joiners[-1].kill()
        joiners[-1].wait()
        joiners.append(start_joiner(c, tmp_path, "n4b", peer_url, client_url, "n4b-again"))
        assert member_id_at(client_url) == again
        members = stub(c.urls[0]).MemberList(rpc_pb2.MemberListRequest(), timeout=5).members
        ids = {m.ID for m in members}
        assert len(ids) == 4 and again in ids and first not in ids
    finally:
        for joiner in joiners:
            joiner.kill()
            joiner.wait()
        c.stop_all()


def test_joining_a_cluster_that_never_added_the_member_is_one_clear_line(tmp_path):
    c = ProcCluster(tmp_path)
    c.start_all()
    try:
        c.leader_index()
        peer_port, client_port = free_ports(2)
        peer_url = f"http://127.0.0.1:{peer_port}"
        joiner = start_joiner(c, tmp_path, "n9", peer_url, f"http://127.0.0.1:{client_port}")
        assert joiner.wait(timeout=30) == 1
        lines = (tmp_path / "n9.log").read_text().strip().splitlines()
        assert lines[-1] == (f"raftviz node: no member of the cluster has the peer URLs "
                             f"{peer_url}: add this member first (etcdctl member add n9 "
                             f"--peer-urls={peer_url})")
        assert "Traceback" not in "\n".join(lines)
    finally:
        c.stop_all()
