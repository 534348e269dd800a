"""Range: key spans, limits, counts, old revisions, sorting and filters, as etcd 3.4."""

import pytest
from kv_helpers import delete, keys, put

from engine.kv import (ErrorKind, KVError, KVStore, RangeRequest, SortOrder, SortTarget,
                       CompactionRequest, prefix_range_end)


@pytest.fixture
def store():
    store = KVStore()
    # rev 2..6: a, b, c, ba, then b again
    for key, value in ((b"a", b"3"), (b"b", b"1"), (b"c", b"2"), (b"ba", b"5"), (b"b", b"4")):
        put(store, key, value)
    return store


def test_single_key(store):
    resp = store.range(RangeRequest(b"b"))
    assert [(kv.key, kv.value) for kv in resp.kvs] == [(b"b", b"4")]
    assert (resp.count, resp.more, resp.header.revision) == (1, False, 6)


def test_missing_key_gives_nothing(store):
    resp = store.range(RangeRequest(b"zz"))
    assert (resp.kvs, resp.count) == ((), 0)


def test_half_open_range(store):
    assert keys(store, b"b", b"c") == [b"b", b"ba"]


def test_nul_range_end_means_every_key_from_key(store):
    assert keys(store, b"b", b"\0") == [b"b", b"ba", b"c"]
    assert keys(store, b"\0", b"\0") == [b"a", b"b", b"ba", b"c"]


def test_prefix(store):
    assert keys(store, b"b", prefix_range_end(b"b")) == [b"b", b"ba"]


def test_range_end_before_key_is_empty(store):
    assert keys(store, b"c", b"a") == []


def test_limit_sets_more_and_count_is_the_whole_range(store):
    resp = store.range(RangeRequest(b"a", b"\0", limit=2))
    assert [kv.key for kv in resp.kvs] == [b"a", b"b"]
    assert (resp.more, resp.count) == (True, 4)
    resp = store.range(RangeRequest(b"a", b"\0", limit=4))
    assert (len(resp.kvs), resp.more) == (4, False)


def test_count_only_and_keys_only(store):
    resp = store.range(RangeRequest(b"a", b"\0", count_only=True))
    assert (resp.kvs, resp.count) == ((), 4)
    resp = store.range(RangeRequest(b"a", b"\0", keys_only=True))
    assert [kv.value for kv in resp.kvs] == [b""] * 4
    assert resp.kvs[1].mod_revision == 6  # only the value is left out


def test_read_at_an_older_revision(store):
    resp = store.range(RangeRequest(b"a", b"\0", revision=3))
    assert [(kv.key, kv.value) for kv in resp.kvs] == [(b"a", b"3"), (b"b", b"1")]
    assert resp.header.revision == 6  # the header always says the current revision


def test_deleted_key_is_still_visible_at_older_revisions(store):
    delete(store, b"a")
    assert keys(store, b"a", b"") == []
    assert keys(store, b"a", b"", revision=6) == [b"a"]


def test_future_revision_is_refused(store):
    with pytest.raises(KVError) as err:
        store.range(RangeRequest(b"a", revision=7))
    assert err.value.kind is ErrorKind.FUTURE_REV
    assert str(err.value) == "etcdserver: mvcc: required revision is a future revision"
    assert err.value.code == "OUT_OF_RANGE"


def test_revision_below_compaction_is_refused_but_the_compaction_revision_reads(store):
    store.apply(CompactionRequest(4))
    with pytest.raises(KVError) as err:
        store.range(RangeRequest(b"a", revision=3))
    assert str(err.value) == "etcdserver: mvcc: required revision has been compacted"
    assert err.value.code == "OUT_OF_RANGE"
    assert keys(store, b"a", b"\0", revision=4) == [b"a", b"b", b"c"]


def test_empty_key_is_refused(store):
    with pytest.raises(KVError, match="etcdserver: key is not provided"):
        store.range(RangeRequest(b""))


def _sorted(store, order, target):
    req = RangeRequest(b"a", b"\0", sort_order=order, sort_target=target)
    return [kv.key for kv in store.range(req).kvs]


def test_sort_by_each_target(store):
    # versions: a1 b2 ba1 c1; create: a2 b3 c4 ba5; mod: a2 c4 ba5 b6; values: a3 b4 ba5 c2
    assert _sorted(store, SortOrder.ASCEND, SortTarget.KEY) == [b"a", b"b", b"ba", b"c"]
    assert _sorted(store, SortOrder.DESCEND, SortTarget.KEY) == [b"c", b"ba", b"b", b"a"]
    assert _sorted(store, SortOrder.DESCEND, SortTarget.VERSION)[0] == b"b"
    assert _sorted(store, SortOrder.ASCEND, SortTarget.CREATE) == [b"a", b"b", b"c", b"ba"]
    assert _sorted(store, SortOrder.DESCEND, SortTarget.MOD) == [b"b", b"ba", b"c", b"a"]
    assert _sorted(store, SortOrder.ASCEND, SortTarget.VALUE) == [b"c", b"a", b"b", b"ba"]


def test_sort_order_none_with_a_target_other_than_key_sorts_ascending(store):
    assert _sorted(store, SortOrder.NONE, SortTarget.MOD) == [b"a", b"c", b"ba", b"b"]
    assert _sorted(store, SortOrder.NONE, SortTarget.KEY) == [b"a", b"b", b"ba", b"c"]


def test_sort_applies_before_limit(store):
    req = RangeRequest(b"a", b"\0", limit=1, sort_order=SortOrder.DESCEND,
                       sort_target=SortTarget.MOD)
    resp = store.range(req)
    assert [kv.key for kv in resp.kvs] == [b"b"] and resp.more


def test_ties_keep_key_order(store):
    # a, ba and c all have version 1; b has 2.
    assert _sorted(store, SortOrder.ASCEND, SortTarget.VERSION) == [b"a", b"ba", b"c", b"b"]
    assert _sorted(store, SortOrder.DESCEND, SortTarget.VERSION) == [b"b", b"a", b"ba", b"c"]


def test_mod_and_create_revision_filters(store):
    assert keys(store, min_mod_revision=5) == [b"b", b"ba"]
    assert keys(store, max_mod_revision=4) == [b"a", b"c"]
    assert keys(store, min_create_revision=3, max_create_revision=4) == [b"b", b"c"]


def test_filters_apply_before_limit_and_count_ignores_them(store):
    resp = store.range(RangeRequest(b"\0", b"\0", min_mod_revision=4, limit=1))
    assert [kv.key for kv in resp.kvs] == [b"b"]
    assert (resp.more, resp.count) == (True, 4)
