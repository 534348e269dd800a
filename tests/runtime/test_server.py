"""A live 3-member cluster in one process: election, writes through followers,
linearizable reads, crash and recovery from the data dir."""

import struct
import threading

import pytest
import trio

from engine.kv import KVError, KVStore, PutRequest, RangeRequest
from tests.runtime.live_cluster import LiveCluster

pytestmark = pytest.mark.trio


async def test_put_through_any_member_and_read_everywhere(tmp_path):
    c = LiveCluster(tmp_path)
    async with trio.open_nursery() as n:
        await c.start_all(n)
        leader = await c.wait_leader()
        follower = next(s for s in c.servers.values() if s is not leader)
        r1 = await follower.propose(PutRequest(b"a", b"1"))
        r2 = await leader.propose(PutRequest(b"a", b"2", prev_kv=True))
        assert r2.header.revision == r1.header.revision + 1
        assert r2.prev_kv.value == b"1"
        for s in c.servers.values():
            await s.linearizable_barrier()
            assert s.kv.range(RangeRequest(b"a")).kvs[0].value == b"2"
        n.cancel_scope.cancel()


async def test_errors_come_back_from_apply(tmp_path):
    c = LiveCluster(tmp_path)
    async with trio.open_nursery() as n:
        await c.start_all(n)
        leader = await c.wait_leader()
        with pytest.raises(KVError, match="requested lease not found"):
            await leader.propose(PutRequest(b"k", b"v", lease=12345))
        n.cancel_scope.cancel()


async def test_crashed_member_recovers_its_data(tmp_path):
    c = LiveCluster(tmp_path)
    async with trio.open_nursery() as n:
        await c.start_all(n)
        leader = await c.wait_leader()
        for i in range(20):
            await leader.propose(PutRequest(b"k%d" % i, b"v"))
        victim = next(name for name, s in c.servers.items() if s is not leader)
        await c.crash(victim)
        await leader.propose(PutRequest(b"after", b"crash"))
        restarted = await c.start(n, victim)
        with trio.fail_after(10):
            while restarted.kv.range(RangeRequest(b"after")).count == 0:
                await trio.sleep(0.01)
        assert restarted.kv.range(RangeRequest(b"k", b"l")).count == 20
        n.cancel_scope.cancel()


async def test_leader_crash_elects_a_new_one_and_keeps_acknowledged_writes(tmp_path):
    c = LiveCluster(tmp_path)
    async with trio.open_nursery() as n:
        await c.start_all(n)
        old = await c.wait_leader()
        await old.propose(PutRequest(b"x", b"1"))
        await c.crash(old.cfg.name)
        new = await c.wait_leader()
        assert new is not old
        await new.linearizable_barrier()
        assert new.kv.range(RangeRequest(b"x")).kvs[0].value == b"1"
        n.cancel_scope.cancel()


async def test_lagging_member_catches_up_from_a_snapshot(tmp_path):
    c = LiveCluster(tmp_path, snapshot_count=10)
    async with trio.open_nursery() as n:
        await c.start_all(n)
        leader = await c.wait_leader()
        victim = next(name for name, s in c.servers.items() if s is not leader)
        await c.crash(victim)
        for i in range(60):
            await leader.propose(PutRequest(b"s%02d" % i, b"v"))
        # The leader snapshotted and compacted its log past what the victim holds (its
        # snapshots are written beside its loop: a later Ready adopts the last one).
        with trio.fail_after(10):
            while leader.storage.snapshot().metadata.index <= 20:
                await leader.propose(PutRequest(b"more", b"v"))
        assert leader.storage.first_index() > 2
        restarted = await c.start(n, victim)
        with trio.fail_after(10):
            while restarted.kv.range(RangeRequest(b"s", b"t")).count < 60:
                await trio.sleep(0.01)
        assert restarted.storage.snapshot().metadata.index > 0   # installed, not replayed
        assert restarted.membership.members.keys() == leader.membership.members.keys()
        n.cancel_scope.cancel()


async def test_a_member_keeps_applying_while_its_snapshot_is_written(tmp_path):
    """Encoding the whole history and writing it is done beside the Ready loop, not in
    it (at 100,000 records it stalled every member for over a second): writes go on
    committing while a snapshot is held up on its way to disk, one snapshot at a time,
    and the log is compacted once it is written."""
    c = LiveCluster(tmp_path, snapshot_count=20)
    async with trio.open_nursery() as n:
        await c.start_all(n)
        leader = await c.wait_leader()
        release, written = threading.Event(), []
        write = leader.storage.write_snapshot

        def held_up(snap):
            written.append(snap.metadata.index)
            release.wait(10)
            write(snap)
        leader.storage.write_snapshot = held_up
        try:
            for i in range(60):
                await leader.propose(PutRequest(b"k%02d" % i, b"v"))
            assert len(written) == 1 and leader.storage.first_index() == 1
        finally:
            release.set()
        with trio.fail_after(10):
            while leader.storage.first_index() <= written[0]:
                await leader.propose(PutRequest(b"more", b"v"))   # a Ready adopts it
        assert leader.storage.snapshot().metadata.index == written[0] >= 20
        data = leader.storage.snapshot().data           # membership, then the keyspace
        members = struct.unpack_from(">I", data)[0]
        assert KVStore.restore(data[4 + members:]).consistent_index == written[0]
        n.cancel_scope.cancel()


async def test_a_joined_member_restarts_with_its_id_and_membership_from_its_data_dir(tmp_path):
    """A member that joined (its id given by the cluster) and stopped before applying
    anything still knows who it is and who its peers are: from its data dir, not from
    its flags, whose ids are a founder's."""
    from engine.runtime.membership import Member, Membership, member_id
    from engine.runtime.server import EtcdServer, ServerConfig

    urls = {name: (f"http://127.0.0.1:{2380 + i}",) for i, name in enumerate("abc")}
    flags = Membership.initial(urls, "t")
    cluster = Membership.initial({k: v for k, v in urls.items() if k != "c"}, "t")
    cluster.add(Member(0xC0FFEE, "", urls["c"], is_learner=True))   # as `member add` made it
    config = dict(name="c", data_dir=str(tmp_path / "c"), peer_listen=("127.0.0.1", 0),
                  new_cluster=False, token="t")

    joined = EtcdServer(ServerConfig(membership=cluster, member_id=0xC0FFEE, **config))
    joined._open()
    joined.storage.close()
    joined.backend.close()

    restarted = EtcdServer(ServerConfig(membership=flags, **config))
    assert restarted.id == 0xC0FFEE != member_id(urls["c"], "t")
    restarted._open()
    try:
        assert restarted.membership.members == cluster.members
    finally:
        restarted.storage.close()
        restarted.backend.close()
