"""Snapshots, determinism across members, and idempotent replay by Raft index."""

import struct
import zlib

import pytest
from kv_helpers import get, keys, put

from engine.kv import (AlarmAction, AlarmRequest, AlarmType, CompactionRequest,
                       DeleteRangeRequest, KVError, KVStore, KeyValue, LeaseGrantRequest,
                       LeaseRevokeRequest, PutRequest, SnapshotError, TxnRequest)
from engine.kv.index import Revision
from engine.kv.snapshot import (SnapshotRecord, SnapshotState, encode_snapshot,
                                snapshot_parts)

LOG = [
    LeaseGrantRequest(ttl=30, id=11),
    PutRequest(b"a", b"1"),
    PutRequest(b"b", b"2", lease=11),
    TxnRequest(success=(PutRequest(b"c", b"3"), DeleteRangeRequest(b"a"))),
    PutRequest(b"a", b"4"),
    PutRequest(b"nolease", b"", lease=99),  # refused: still part of the log
    CompactionRequest(4),
    PutRequest(b"d", b"5", lease=11),
    AlarmRequest(AlarmAction.ACTIVATE, 2, AlarmType.NOSPACE),
    AlarmRequest(AlarmAction.DEACTIVATE, 2, AlarmType.NOSPACE),
    AlarmRequest(AlarmAction.ACTIVATE, 3, AlarmType.NOSPACE),
]


def replay(store, log=LOG, now=0.0):
    for index, request in enumerate(log, start=1):
        try:
            store.apply(request, index=index, now=now + index)
        except KVError:
            pass
    return store


def test_members_fed_the_same_log_agree_byte_for_byte():
    follower = replay(KVStore())
    leader = KVStore()
    leader.promote(now=1000.0, extend=1.0)  # deadlines are local, not replicated state
    replay(leader, now=5000.0)
    assert follower.snapshot() == leader.snapshot()
    assert follower.hash_kv() == leader.hash_kv()
    assert follower.hash_kv(6) == leader.hash_kv(6)


def test_a_frozen_state_encodes_as_it_was_whatever_the_store_does_after():
    store = replay(KVStore(), LOG[:-1])         # the NOSPACE alarm raised and cleared
    expected, frozen = store.snapshot(), store.freeze()
    later = [PutRequest(b"later", b"x"), LeaseGrantRequest(ttl=30, id=12),
             CompactionRequest(store.current_revision - 1), LeaseRevokeRequest(11),
             DeleteRangeRequest(b"c")]
    for index, request in enumerate(later, start=len(LOG)):
        store.apply(request, index=index, now=100.0)
    assert store.snapshot() != expected
    assert encode_snapshot(frozen) == expected
    assert b"".join(snapshot_parts(frozen)) == expected     # in steps, as a member does it


def test_frozen_records_come_in_revision_order_however_they_were_added():
    from sortedcontainers import SortedDict
    from engine.kv.mvcc import Record
    from engine.kv.store import FrozenRecords
    table = SortedDict()
    for main in (3, 1, 2):
        table[Revision(main, 0)] = Record(KeyValue(b"k%d" % main, main, main, 1, b""))
    assert [r.rev.main for r in FrozenRecords(table)] == [1, 2, 3]
    del table[Revision(1, 0)]
    table[Revision(4, 0)] = Record(KeyValue(b"k4", 4, 4, 1, b""))
    assert [r.kv.key for r in FrozenRecords(table)] == [b"k2", b"k3", b"k4"]


def test_snapshot_round_trips():
    store = replay(KVStore())
    data = store.snapshot()
    restored = KVStore.restore(data)
    assert restored.snapshot() == data
    assert restored.hash_kv() == store.hash_kv()
    assert (restored.consistent_index, restored.current_revision, restored.compact_revision) \
        == (len(LOG), store.current_revision, 4)
    for rev in range(4, store.current_revision + 1):
        assert keys(restored, revision=rev) == keys(store, revision=rev)
    assert restored.alarms() == store.alarms()
    assert restored.size_bytes == store.size_bytes


def test_restored_store_continues_like_the_original():
    store = replay(KVStore())
    restored = KVStore.restore(store.snapshot())
    for member in (store, restored):
        member.apply(AlarmRequest(AlarmAction.DEACTIVATE, 3, AlarmType.NOSPACE))
        put(member, b"b", b"new")
        member.apply(LeaseRevokeRequest(11))  # keys re-attached to the lease on restore
    assert restored.snapshot() == store.snapshot()
    assert get(restored, b"d") is None and get(restored, b"b").version == 2


def test_empty_store_round_trips():
    data = KVStore().snapshot()
    assert KVStore.restore(data).snapshot() == data


def test_replayed_entries_are_skipped():
    store = replay(KVStore())
    before = store.snapshot()
    replay(store)  # a crash restart re-delivers the whole log
    assert store.snapshot() == before
    assert store.apply(PutRequest(b"x", b""), index=3) is None
    assert get(store, b"x") is None


def test_a_refused_entry_still_advances_the_consistent_index():
    store = KVStore()
    with pytest.raises(KVError):
        store.apply(PutRequest(b"k", b"", lease=5), index=7)
    assert store.consistent_index == 7
    store.advance_consistent_index(9)
    assert store.consistent_index == 9
    assert store.apply(PutRequest(b"k", b""), index=9) is None


def test_only_keyspace_requests_apply():
    with pytest.raises(TypeError):
        KVStore().apply(b"put k v")


def test_install_snapshot_replaces_state_in_place():
    store = KVStore()
    put(store, b"mine")
    source = replay(KVStore())
    store.install_snapshot(source.snapshot())
    assert store.snapshot() == source.snapshot()
    assert get(store, b"mine") is None


# --- strict decoding -------------------------------------------------------------------


def test_every_truncation_is_refused():
    data = replay(KVStore()).snapshot()
    for size in range(len(data)):
        with pytest.raises(SnapshotError):
            KVStore.restore(data[:size])


def test_every_flipped_byte_is_refused():
    data = replay(KVStore()).snapshot()
    for position in range(len(data)):
        corrupted = bytearray(data)
        corrupted[position] ^= 0x40
        with pytest.raises(SnapshotError):
            KVStore.restore(bytes(corrupted))


def _with_crc(body: bytes) -> bytes:
    return body + struct.pack(">I", zlib.crc32(body))


def test_trailing_bytes_and_unknown_versions_are_refused_even_with_a_good_checksum():
    body = KVStore().snapshot()[:-4]
    with pytest.raises(SnapshotError, match="trailing"):
        KVStore.restore(_with_crc(body + b"\0"))
    with pytest.raises(SnapshotError, match="version"):
        KVStore.restore(_with_crc(body[:8] + b"\0\x02" + body[10:]))
    with pytest.raises(SnapshotError):
        KVStore.restore("not bytes")


def _state(records=(), leases=(), current=9, compact=0):
    return SnapshotState(0, current, compact, tuple(records), tuple(leases), ())


def _put(main, key, create=None, version=1, lease=0):
    kv = KeyValue(key, create or main, main, version, b"v", lease)
    return SnapshotRecord(Revision(main), kv, False)


def _tomb(main, key):
    return SnapshotRecord(Revision(main), KeyValue(key, mod_revision=main), True)


@pytest.mark.parametrize("state", [
    _state([_put(3, b"a"), _put(2, b"b")]),                     # out of revision order
    _state([_put(2, b"a")], current=1),                          # beyond the current revision
    _state([_tomb(2, b"a")]),                                    # deleting what never was
    _state([_tomb(2, b"a")], compact=1),                         # ...or not at the compaction
    _state([_put(2, b"a"), _put(3, b"a", version=1)]),           # version not counting up
    _state([_put(2, b"a"), _put(3, b"a", create=3, version=2)]),  # create revision changed
    _state([_put(5, b"a", create=3, version=1)]),                # first version not at creation
    _state([_put(2, b"a", lease=4)]),                            # attached to a missing lease
    _state(leases=[(2, 5), (1, 5)]),                             # leases out of order
    _state(compact=10),                                          # compacted in the future
])
def test_states_no_store_could_write_are_refused(state):
    with pytest.raises(SnapshotError):
        KVStore.restore(encode_snapshot(state))


def test_a_delete_at_the_compaction_revision_survives_a_snapshot():
    store = KVStore()
    put(store, b"k")
    store.apply(DeleteRangeRequest(b"k"))
    store.apply(CompactionRequest(3))
    restored = KVStore.restore(store.snapshot())
    assert restored.snapshot() == store.snapshot()
    put(restored, b"k")
    assert get(restored, b"k").version == 1


def test_a_compacted_history_is_accepted():
    state = _state([_put(5, b"a", create=2, version=3), _put(6, b"a", create=2, version=4)],
                   compact=5)
    store = KVStore.restore(encode_snapshot(state))
    assert get(store, b"a").version == 4
