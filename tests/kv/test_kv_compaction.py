"""Compaction and HashKV, as etcd 3.4 (hashes are this store's own encoding)."""

import pytest
from kv_helpers import delete, get, keys, put

from engine.kv import (CompactionRequest, ErrorKind, KVError, KVStore, RangeRequest,
                       TxnRequest, PutRequest)


def history_store():
    store = KVStore()
    put(store, b"a", b"1")    # 2
    put(store, b"b", b"1")    # 3
    put(store, b"a", b"2")    # 4
    delete(store, b"b")       # 5
    put(store, b"c", b"1")    # 6
    put(store, b"a", b"3")    # 7
    return store


def stored(store):
    return [(rev.main, rec.kv.key, rec.tombstone) for rev, rec in store._mvcc.records.items()]


def test_compaction_keeps_the_latest_version_at_or_before_it():
    store = history_store()
    resp = store.apply(CompactionRequest(4))
    assert resp.header.revision == 7 and store.compact_revision == 4
    # a@2 is superseded by a@4; b@3 is what a read at 4 sees.
    assert stored(store) == [(3, b"b", False), (4, b"a", False), (5, b"b", True),
                             (6, b"c", False), (7, b"a", False)]


def test_a_generation_deleted_before_the_compaction_revision_goes_whole():
    store = history_store()
    store.apply(CompactionRequest(6))
    assert stored(store) == [(4, b"a", False), (6, b"c", False), (7, b"a", False)]


def test_a_delete_at_the_compaction_revision_is_kept_for_watchers():
    # etcd drops it; then a watch from the compaction revision would miss the delete.
    store = history_store()
    store.apply(CompactionRequest(5))
    assert [entry for entry in stored(store) if entry[1] == b"b"] == [(5, b"b", True)]
    assert get(store, b"b", revision=5) is None
    wid = store.watch(b"b", start_revision=5)
    (resp,) = store.take_responses(wid)
    assert [(ev.type.name, ev.kv.mod_revision) for ev in resp.events] == [("DELETE", 5)]
    store.apply(CompactionRequest(6))
    assert [main for main, key, _ in stored(store) if key == b"b"] == []


def test_reads_at_or_after_the_compaction_revision_are_unchanged():
    store = history_store()
    before = {rev: keys(store, revision=rev) for rev in range(5, 8)}
    values = {rev: get(store, b"a", rev).value for rev in range(5, 8)}
    store.apply(CompactionRequest(5))
    assert {rev: keys(store, revision=rev) for rev in range(5, 8)} == before
    assert {rev: get(store, b"a", rev).value for rev in range(5, 8)} == values
    assert get(store, b"a").version == 3  # versions still count from creation


def test_compaction_at_the_current_revision_keeps_live_keys_only():
    store = history_store()
    store.apply(CompactionRequest(7))
    assert stored(store) == [(6, b"c", False), (7, b"a", False)]
    assert keys(store) == [b"a", b"c"]


def test_tombstone_after_compaction_revision_is_kept():
    store = history_store()
    store.apply(CompactionRequest(4))
    assert get(store, b"b", revision=4).value == b"1"
    assert get(store, b"b", revision=5) is None


def test_compacting_again_at_or_below_is_refused():
    store = history_store()
    store.apply(CompactionRequest(5))
    for rev in (5, 3):
        with pytest.raises(KVError) as err:
            store.apply(CompactionRequest(rev))
        assert err.value.kind is ErrorKind.COMPACTED
        assert str(err.value) == "etcdserver: mvcc: required revision has been compacted"


def test_compacting_the_future_is_refused():
    store = history_store()
    with pytest.raises(KVError) as err:
        store.apply(CompactionRequest(8))
    assert str(err.value) == "etcdserver: mvcc: required revision is a future revision"
    assert store.compact_revision == 0


def test_compaction_does_not_make_a_revision_and_frees_space():
    store = history_store()
    size = store.size_bytes
    store.apply(CompactionRequest(7))
    assert store.current_revision == 7
    assert store.size_bytes < size


def test_hash_kv_covers_history_up_to_the_revision():
    store = history_store()
    full = store.hash_kv()
    assert (full.header.revision, full.compact_revision) == (7, 0)
    assert store.hash_kv(7).hash == full.hash
    assert store.hash_kv(6).hash != full.hash
    put(store, b"z", b"")
    assert store.hash_kv(7).hash == full.hash  # later writes do not change an old hash


def test_hash_kv_errors_as_etcd():
    store = history_store()
    store.apply(CompactionRequest(4))
    with pytest.raises(KVError) as err:
        store.hash_kv(4)
    assert err.value.kind is ErrorKind.COMPACTED
    with pytest.raises(KVError) as err:
        store.hash_kv(8)
    assert err.value.kind is ErrorKind.FUTURE_REV
    assert store.hash_kv(5).compact_revision == 4


def test_hash_kv_is_equal_for_equal_histories_and_differs_otherwise():
    one, two = history_store(), history_store()
    assert one.hash_kv().hash == two.hash_kv().hash
    one.apply(CompactionRequest(5))
    two.apply(CompactionRequest(5))
    assert one.hash_kv().hash == two.hash_kv().hash
    put(one, b"d", b"x")
    put(two, b"d", b"y")
    assert one.hash_kv().hash != two.hash_kv().hash


def test_hash_differs_between_a_txn_and_separate_puts():
    one, two = KVStore(), KVStore()
    one.apply(TxnRequest(success=(PutRequest(b"a", b""), PutRequest(b"b", b""))))
    put(two, b"a")
    put(two, b"b")
    assert one.hash_kv(0).hash != two.hash_kv(0).hash


def test_compaction_then_range_count():
    store = history_store()
    store.apply(CompactionRequest(6))
    assert store.range(RangeRequest(b"\0", b"\0", count_only=True)).count == 2
