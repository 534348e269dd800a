"""A member added with `member add` joins a running cluster with
--initial-cluster-state existing, catches up from the log, and a learner is promoted
once it is in sync."""

import subprocess
import sys
import time

import grpc

from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from raftviz.cmd_up import free_ports
from tests.live.proc_cluster import ProcCluster


def stub(url, kind=rpc_pb2_grpc.ClusterStub):
    return kind(grpc.insecure_channel(url.split("://")[1]))


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
        initial = ",".join([f"{n}=http://127.0.0.1:{p}" for n, p in zip(c.names, c.peer)]
                           + [f"n4={peer_url}"])
        client_url = f"http://127.0.0.1:{client_port}"
        joiner = subprocess.Popen(
            [sys.executable, "-m", "raftviz", "node", "--name", "n4",
             "--data-dir", str(tmp_path / "n4"), "--listen-client-urls", client_url,
             "--listen-peer-urls", peer_url, "--initial-cluster", initial,
             "--initial-cluster-state", "existing", "--initial-cluster-token", "live-test",
             "--heartbeat-interval", "20", "--election-timeout", "200"],
            stdout=open(tmp_path / "n4.log", "wb"), stderr=subprocess.STDOUT)
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
