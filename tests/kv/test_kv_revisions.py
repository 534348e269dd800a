"""Store revisions and per-key create/mod/version, as etcd 3.4 counts them."""

from kv_helpers import delete, get, put

from engine.kv import (DeleteRangeRequest, KVStore, PutRequest, RangeRequest, TxnRequest)
from engine.kv.index import KeyIndex, Revision


def test_empty_store_is_at_revision_one():
    store = KVStore()
    assert store.current_revision == 1
    assert store.range(RangeRequest(b"a")).header.revision == 1


def test_each_write_is_one_revision_and_keys_track_create_mod_version():
    store = KVStore()
    assert put(store, b"a", b"1").header.revision == 2
    assert put(store, b"b", b"1").header.revision == 3
    assert put(store, b"a", b"2").header.revision == 4
    a = get(store, b"a")
    assert (a.create_revision, a.mod_revision, a.version, a.value) == (2, 4, 2, b"2")
    b = get(store, b"b")
    assert (b.create_revision, b.mod_revision, b.version) == (3, 3, 1)


def test_putting_the_same_value_still_makes_a_revision():
    store = KVStore()
    put(store, b"a", b"x")
    put(store, b"a", b"x")
    assert store.current_revision == 3
    assert get(store, b"a").version == 2


def test_delete_leaves_a_tombstone_and_recreation_starts_a_new_generation():
    store = KVStore()
    put(store, b"k", b"1")          # rev 2
    put(store, b"k", b"2")          # rev 3
    assert delete(store, b"k").header.revision == 4
    assert get(store, b"k") is None
    assert get(store, b"k", revision=3).value == b"2"
    put(store, b"k", b"3")          # rev 5
    k = get(store, b"k")
    assert (k.create_revision, k.mod_revision, k.version) == (5, 5, 1)


def test_a_txn_with_several_writes_is_one_revision():
    store = KVStore()
    resp = store.apply(TxnRequest(success=(PutRequest(b"a", b"1"), PutRequest(b"b", b"2"),
                                           PutRequest(b"c", b"3"))))
    assert resp.header.revision == 2 and store.current_revision == 2
    assert {get(store, k).mod_revision for k in (b"a", b"b", b"c")} == {2}


def test_sub_revisions_number_the_changes_of_one_txn():
    store = KVStore()
    store.apply(TxnRequest(success=(PutRequest(b"b", b""), PutRequest(b"a", b""))))
    history = list(store._mvcc.history(0, 2))
    assert [(rev, record.kv.key) for rev, record in history] == [
        (Revision(2, 0), b"b"), (Revision(2, 1), b"a")]


def test_writes_that_change_nothing_do_not_bump_the_revision():
    store = KVStore()
    put(store, b"a", b"1")
    resp = delete(store, b"missing")
    assert (resp.deleted, resp.header.revision, store.current_revision) == (0, 2, 2)
    assert delete(store, b"x", b"z").header.revision == 2
    resp = store.apply(TxnRequest(success=(DeleteRangeRequest(b"nope"),
                                           RangeRequest(b"a"))))
    assert resp.header.revision == 2 and store.current_revision == 2
    assert store.apply(TxnRequest()).header.revision == 2


def test_delete_range_of_several_keys_is_one_revision():
    store = KVStore()
    for key in (b"a", b"b", b"c"):
        put(store, key)
    resp = delete(store, b"a", b"c")
    assert (resp.deleted, resp.header.revision) == (2, 5)
    assert get(store, b"c") is not None


def test_key_index_generations_follow_etcd():
    ki = KeyIndex(b"k")
    ki.put(Revision(2))
    ki.put(Revision(4))
    ki.tombstone(Revision(6))
    ki.put(Revision(8))
    assert [(g.created, g.ver, g.revs) for g in ki.generations] == [
        (2, 3, [Revision(2), Revision(4), Revision(6)]),
        (8, 1, [Revision(8)])]
    assert ki.get(1) is None
    assert ki.get(3) == Revision(2)
    assert ki.get(5) == Revision(4)
    assert ki.get(6) is None and ki.get(7) is None
    assert ki.get(100) == Revision(8)


def test_key_index_compaction_keeps_what_reads_from_there_see():
    ki = KeyIndex(b"k")
    for main in (2, 3, 4):
        ki.put(Revision(main))
    ki.tombstone(Revision(5))
    ki.put(Revision(7))
    ki.put(Revision(9))
    assert ki.compact(3) == [Revision(2)]
    assert ki.get(3) == Revision(3)
    # The first generation ended at 5: compacting at 5 or later drops it whole.
    assert ki.compact(8) == [Revision(3), Revision(4), Revision(5)]
    assert [g.revs for g in ki.generations] == [[Revision(7), Revision(9)]]
    assert ki.generations[0].ver == 2  # versions are counted from creation, not from what is kept
