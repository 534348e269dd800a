"""engine.runtime.proto against the real etcd 3.4 on the wire: every RPC family is called
through the generated stubs, and every response must decode with no unknown fields (a field
we lack or misnumbered shows up as unknown) and carry the values etcd's semantics promise."""

from __future__ import annotations

import queue
import time

import pytest

grpc = pytest.importorskip("grpc")

from google.protobuf import unknown_fields  # noqa: E402

from engine.runtime.proto import auth_pb2, kv_pb2, rpc_pb2, rpc_pb2_grpc  # noqa: E402
from tests.etcd.etcd_cluster import etcd_cluster  # noqa: E402

pytestmark = pytest.mark.etcd
TIMEOUT = 5.0


def assert_fully_known(message) -> None:
    """No field in the message tree is unknown to our schema."""
    unknown = unknown_fields.UnknownFieldSet(message)
    assert len(unknown) == 0, f"{message.DESCRIPTOR.full_name}: unknown field " \
                              f"{[f.field_number for f in unknown]}"
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        for item in (value if descriptor.is_repeated else [value]):
            assert_fully_known(item)


@pytest.fixture(scope="module")
def cluster():
    with etcd_cluster() as c:
        yield c


@pytest.fixture(scope="module")
def channel(cluster):
    with grpc.insecure_channel(cluster.endpoints[0].removeprefix("http://")) as ch:
        yield ch


def call(method, request):
    response = method(request, timeout=TIMEOUT)
    assert_fully_known(response)
    return response


def test_kv_put_range_txn(channel):
    kv = rpc_pb2_grpc.KVStub(channel)
    first = call(kv.Put, rpc_pb2.PutRequest(key=b"p/a", value=b"1"))
    call(kv.Put, rpc_pb2.PutRequest(key=b"p/b", value=b"2"))
    put = call(kv.Put, rpc_pb2.PutRequest(key=b"p/a", value=b"3", prev_kv=True))
    assert put.prev_kv.value == b"1" and put.header.revision == first.header.revision + 2
    assert put.header.cluster_id and put.header.member_id and put.header.raft_term
    got = call(kv.Range, rpc_pb2.RangeRequest(key=b"p/", range_end=b"p0", limit=1))
    assert (got.count, got.more, got.kvs[0].key, got.kvs[0].version) == (2, True, b"p/a", 2)
    assert got.kvs[0].mod_revision == put.header.revision
    txn = call(kv.Txn, rpc_pb2.TxnRequest(
        compare=[rpc_pb2.Compare(key=b"p/a", target=rpc_pb2.Compare.VERSION,
                                 result=rpc_pb2.Compare.EQUAL, version=2)],
        success=[rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(
            key=b"p/", range_end=b"p0", prev_kv=True))]))
    deleted = txn.responses[0].response_delete_range
    assert txn.succeeded and deleted.deleted == 2 and len(deleted.prev_kvs) == 2


def test_watch_replays_history_with_prev_kv(channel):
    kv, watch = rpc_pb2_grpc.KVStub(channel), rpc_pb2_grpc.WatchStub(channel)
    start = call(kv.Put, rpc_pb2.PutRequest(key=b"w", value=b"1")).header.revision
    call(kv.DeleteRange, rpc_pb2.DeleteRangeRequest(key=b"w"))
    create = rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
        key=b"w", start_revision=start, prev_kv=True))
    stream = watch.Watch(iter([create]), timeout=TIMEOUT)
    created, events = next(stream), next(stream)
    stream.cancel()
    assert_fully_known(created), assert_fully_known(events)
    assert created.created and created.watch_id == events.watch_id
    put, delete = events.events
    assert put.type == kv_pb2.Event.PUT and delete.type == kv_pb2.Event.DELETE
    assert delete.kv.mod_revision == start + 1 and delete.prev_kv.value == b"1"


class WatchSession:
    """One Watch stream driven step by step: send a request, read until a response fits.
    The request side stays open until close(), since etcd ends the stream on half-close."""

    def __init__(self, stub):
        self.outbox: queue.Queue = queue.Queue()
        self.stream = stub.Watch(iter(self.outbox.get, None), timeout=TIMEOUT)

    def send(self, **request) -> None:
        self.outbox.put(rpc_pb2.WatchRequest(**request))

    def read_until(self, done) -> list:
        seen = []
        for response in self.stream:
            assert_fully_known(response)
            seen.append(response)
            if done(response):
                return seen
        raise AssertionError(f"stream ended early: {seen}")

    def close(self) -> None:
        self.outbox.put(None)
        self.stream.cancel()


def test_watch_compacted_progress_and_cancel(channel):
    kv = rpc_pb2_grpc.KVStub(channel)
    revs = [call(kv.Put, rpc_pb2.PutRequest(key=b"c", value=b"%d" % i)).header.revision
            for i in range(3)]
    call(kv.Compact, rpc_pb2.CompactionRequest(revision=revs[1]))
    session = WatchSession(rpc_pb2_grpc.WatchStub(channel))
    try:
        session.send(create_request=rpc_pb2.WatchCreateRequest(
            key=b"c", start_revision=revs[0], watch_id=7))
        compacted = session.read_until(lambda r: r.canceled)[-1]
        assert (compacted.watch_id, compacted.compact_revision) == (7, revs[1])
        assert compacted.cancel_reason == "" and compacted.header.revision == 0
        session.send(create_request=rpc_pb2.WatchCreateRequest(
            key=b"c", start_revision=revs[1], watch_id=8))
        seen = session.read_until(lambda r: r.events and r.events[-1].kv.mod_revision == revs[2])
        assert [e.kv.mod_revision for r in seen for e in r.events] == revs[1:]
        session.send(progress_request=rpc_pb2.WatchProgressRequest())
        progress = session.read_until(lambda r: not r.created and not r.events)[-1]
        assert (progress.watch_id, progress.header.revision) == (-1, revs[2])
        session.send(cancel_request=rpc_pb2.WatchCancelRequest(watch_id=8))
        assert session.read_until(lambda r: r.canceled)[-1].watch_id == 8
    finally:
        session.close()


def test_lease_lifecycle(channel):
    lease, kv = rpc_pb2_grpc.LeaseStub(channel), rpc_pb2_grpc.KVStub(channel)
    granted = call(lease.LeaseGrant, rpc_pb2.LeaseGrantRequest(TTL=100))
    call(kv.Put, rpc_pb2.PutRequest(key=b"l", value=b"v", lease=granted.ID))
    ttl = call(lease.LeaseTimeToLive, rpc_pb2.LeaseTimeToLiveRequest(ID=granted.ID, keys=True))
    assert (ttl.grantedTTL, list(ttl.keys)) == (100, [b"l"]) and 0 < ttl.TTL <= 100
    leases = call(lease.LeaseLeases, rpc_pb2.LeaseLeasesRequest())
    assert granted.ID in [status.ID for status in leases.leases]
    keepalive = next(lease.LeaseKeepAlive(iter([rpc_pb2.LeaseKeepAliveRequest(ID=granted.ID)]),
                                          timeout=TIMEOUT))
    assert_fully_known(keepalive)
    assert (keepalive.ID, keepalive.TTL) == (granted.ID, 100)
    call(lease.LeaseRevoke, rpc_pb2.LeaseRevokeRequest(ID=granted.ID))
    assert call(kv.Range, rpc_pb2.RangeRequest(key=b"l")).count == 0


def add_learner(members, peer_url: str):
    """etcd refuses membership changes ("unhealthy cluster") until every voter has been
    connected for 5 s (strict reconfig check), so a young cluster needs a few tries."""
    deadline = time.monotonic() + 10.0
    while True:
        try:
            return call(members.MemberAdd, rpc_pb2.MemberAddRequest(
                peerURLs=[peer_url], isLearner=True))
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def wait_until_the_leader_lists(cluster, member_id: int) -> None:
    """MemberAdd answers once the member that served it applied the change; the leader
    may apply it later. etcd 3.4 lets a learner be promoted while the leader's Raft
    progress has no entry for it, so a promote sent in between would not be refused."""
    deadline = time.monotonic() + TIMEOUT
    with grpc.insecure_channel(cluster.endpoints[0].removeprefix("http://")) as any_member:
        leader = call(rpc_pb2_grpc.MaintenanceStub(any_member).Status,
                      rpc_pb2.StatusRequest()).leader
        urls = {m.ID: m.clientURLs[0] for m in call(
            rpc_pb2_grpc.ClusterStub(any_member).MemberList,
            rpc_pb2.MemberListRequest()).members if m.clientURLs}
    with grpc.insecure_channel(urls[leader].removeprefix("http://")) as at_leader:
        members = rpc_pb2_grpc.ClusterStub(at_leader)
        while member_id not in {m.ID for m in call(members.MemberList,
                                                   rpc_pb2.MemberListRequest()).members}:
            assert time.monotonic() < deadline, "the leader never applied the MemberAdd"
            time.sleep(0.05)


def test_cluster_members_and_learner(channel, cluster):
    members = rpc_pb2_grpc.ClusterStub(channel)
    listing = call(members.MemberList, rpc_pb2.MemberListRequest())
    assert sorted(m.name for m in listing.members) == cluster.names
    assert [m.ID for m in listing.members] == sorted(m.ID for m in listing.members)
    assert listing.header.revision == 0   # etcd leaves revision out of cluster responses
    added = add_learner(members, "http://127.0.0.1:1")
    assert added.member.isLearner and len(added.members) == 4
    wait_until_the_leader_lists(cluster, added.member.ID)
    with pytest.raises(grpc.RpcError) as failed:
        members.MemberPromote(rpc_pb2.MemberPromoteRequest(ID=added.member.ID), timeout=TIMEOUT)
    assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    removed = call(members.MemberRemove, rpc_pb2.MemberRemoveRequest(ID=added.member.ID))
    assert len(removed.members) == 3


def test_maintenance(channel):
    maintenance = rpc_pb2_grpc.MaintenanceStub(channel)
    status = call(maintenance.Status, rpc_pb2.StatusRequest())
    assert status.version.startswith("3.4.") and status.dbSize >= status.dbSizeInUse > 0
    assert status.leader and status.raftTerm == status.header.raft_term
    assert status.raftIndex >= status.raftAppliedIndex > 0 and not status.isLearner
    hashed = call(maintenance.HashKV, rpc_pb2.HashKVRequest())
    assert hashed.hash and hashed.compact_revision == 9   # the watch test compacted at 9
    alarms = call(maintenance.Alarm, rpc_pb2.AlarmRequest(action=rpc_pb2.AlarmRequest.GET))
    assert list(alarms.alarms) == []
    chunks = list(maintenance.Snapshot(rpc_pb2.SnapshotRequest(), timeout=TIMEOUT))
    for chunk in chunks:
        assert_fully_known(chunk)
    assert chunks[-1].remaining_bytes == 0 and sum(len(c.blob) for c in chunks) > 0


def test_auth_users_and_roles_without_enabling_auth(channel):
    auth = rpc_pb2_grpc.AuthStub(channel)
    call(auth.UserAdd, rpc_pb2.AuthUserAddRequest(
        name="alice", options=auth_pb2.UserAddOptions(no_password=True)))
    call(auth.RoleAdd, rpc_pb2.AuthRoleAddRequest(name="reader"))
    perm = auth_pb2.Permission(permType=auth_pb2.Permission.READ, key=b"a", range_end=b"b")
    call(auth.RoleGrantPermission, rpc_pb2.AuthRoleGrantPermissionRequest(name="reader",
                                                                          perm=perm))
    assert list(call(auth.RoleGet, rpc_pb2.AuthRoleGetRequest(role="reader")).perm) == [perm]
    call(auth.UserGrantRole, rpc_pb2.AuthUserGrantRoleRequest(user="alice", role="reader"))
    assert call(auth.UserGet, rpc_pb2.AuthUserGetRequest(name="alice")).roles == ["reader"]
    assert call(auth.UserList, rpc_pb2.AuthUserListRequest()).users == ["alice"]
    assert call(auth.RoleList, rpc_pb2.AuthRoleListRequest()).roles == ["reader"]
    call(auth.RoleRevokePermission, rpc_pb2.AuthRoleRevokePermissionRequest(
        role="reader", key=b"a", range_end=b"b"))
    assert list(call(auth.RoleGet, rpc_pb2.AuthRoleGetRequest(role="reader")).perm) == []
    call(auth.UserDelete, rpc_pb2.AuthUserDeleteRequest(name="alice"))
    call(auth.RoleDelete, rpc_pb2.AuthRoleDeleteRequest(role="reader"))
