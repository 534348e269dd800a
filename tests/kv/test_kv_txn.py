"""Txn: compares, branches, nesting, limits and duplicate-key rules, as etcd 3.4."""

import pytest
from kv_helpers import get, put

from engine.kv import (Compare, CompareResult, CompareTarget, DeleteRangeRequest, ErrorKind,
                       KVError, KVStore, LeaseGrantRequest, PutRequest, PutResponse,
                       RangeRequest, TxnRequest, TxnResponse)

EQ, NE, GT, LT = (CompareResult.EQUAL, CompareResult.NOT_EQUAL, CompareResult.GREATER,
                  CompareResult.LESS)
T = CompareTarget


@pytest.fixture
def store():
    store = KVStore()
    store.apply(LeaseGrantRequest(ttl=60, id=9))
    put(store, b"a", b"apple")          # rev 2
    put(store, b"a", b"apricot")        # rev 3: a version 2, create 2, mod 3
    put(store, b"b", b"banana", lease=9)  # rev 4
    return store


def holds(store, compare):
    resp = store.apply(TxnRequest(compare=(compare,)))
    return resp.succeeded


@pytest.mark.parametrize("compare, expected", [
    (Compare(b"a", T.VERSION, EQ, version=2), True),
    (Compare(b"a", T.VERSION, GT, version=1), True),
    (Compare(b"a", T.VERSION, LT, version=2), False),
    (Compare(b"a", T.CREATE, EQ, create_revision=2), True),
    (Compare(b"a", T.CREATE, NE, create_revision=2), False),
    (Compare(b"a", T.MOD, EQ, mod_revision=3), True),
    (Compare(b"a", T.MOD, LT, mod_revision=4), True),
    (Compare(b"a", T.VALUE, EQ, value=b"apricot"), True),
    (Compare(b"a", T.VALUE, GT, value=b"apple"), True),
    (Compare(b"a", T.VALUE, LT, value=b"apple"), False),
    (Compare(b"b", T.LEASE, EQ, lease=9), True),
    (Compare(b"a", T.LEASE, EQ, lease=0), True),
    (Compare(b"b", T.LEASE, NE, lease=9), False),
])
def test_compare_targets_and_results(store, compare, expected):
    assert holds(store, compare) is expected


def test_missing_key_compares_as_zeros(store):
    assert holds(store, Compare(b"nope", T.VERSION, EQ, version=0))
    assert holds(store, Compare(b"nope", T.CREATE, EQ, create_revision=0))
    assert holds(store, Compare(b"nope", T.MOD, LT, mod_revision=1))
    assert holds(store, Compare(b"nope", T.LEASE, EQ, lease=0))


def test_value_compare_on_a_missing_key_always_fails(store):
    assert not holds(store, Compare(b"nope", T.VALUE, EQ, value=b""))
    assert not holds(store, Compare(b"nope", T.VALUE, NE, value=b"x"))


def test_range_compare_must_hold_for_every_key(store):
    assert holds(store, Compare(b"a", T.VERSION, GT, version=0, range_end=b"c"))
    assert not holds(store, Compare(b"a", T.VERSION, EQ, version=2, range_end=b"c"))
    assert holds(store, Compare(b"a", T.MOD, LT, mod_revision=5, range_end=b"\0"))
    # An empty range compares against zeros, like a missing key.
    assert holds(store, Compare(b"x", T.VERSION, EQ, version=0, range_end=b"z"))


def test_all_compares_must_hold(store):
    resp = store.apply(TxnRequest(
        compare=(Compare(b"a", T.VERSION, EQ, version=2), Compare(b"b", T.VERSION, EQ, version=5)),
        success=(PutRequest(b"s", b""),), failure=(PutRequest(b"f", b""),)))
    assert not resp.succeeded
    assert get(store, b"f") is not None and get(store, b"s") is None


def test_responses_follow_the_ops(store):
    resp = store.apply(TxnRequest(
        compare=(Compare(b"a", T.VALUE, EQ, value=b"apricot"),),
        success=(RangeRequest(b"a"), PutRequest(b"c", b"cherry", prev_kv=True),
                 DeleteRangeRequest(b"b", prev_kv=True), RangeRequest(b"a", b"\0"))))
    assert resp.succeeded and resp.header.revision == 5
    rng, put_resp, del_resp, rng_after = resp.responses
    assert [kv.value for kv in rng.kvs] == [b"apricot"] and rng.header.revision == 4
    assert put_resp == PutResponse(put_resp.header, None) and put_resp.header.revision == 5
    assert del_resp.deleted == 1 and del_resp.prev_kvs[0].value == b"banana"
    # A read after the txn's writes sees them.
    assert [kv.key for kv in rng_after.kvs] == [b"a", b"c"]
    assert rng_after.header.revision == 5


def test_txn_writes_share_one_revision_with_sub_revisions(store):
    store.apply(TxnRequest(success=(PutRequest(b"x", b"1"), PutRequest(b"y", b"2"))))
    assert get(store, b"x").mod_revision == get(store, b"y").mod_revision == 5


def test_nested_txn_runs_the_branch_its_compares_choose(store):
    inner = TxnRequest(compare=(Compare(b"a", T.VERSION, EQ, version=2),),
                       success=(PutRequest(b"inner-yes", b""),),
                       failure=(PutRequest(b"inner-no", b""),))
    resp = store.apply(TxnRequest(success=(PutRequest(b"outer", b""), inner)))
    assert resp.succeeded
    nested = resp.responses[1]
    assert isinstance(nested, TxnResponse) and nested.succeeded
    assert get(store, b"inner-yes") and get(store, b"inner-no") is None
    assert store.current_revision == 5


def test_nested_compares_see_the_store_before_the_txn(store):
    # etcd decides every branch up front: the inner compare does not see the outer put.
    inner = TxnRequest(compare=(Compare(b"new", T.VERSION, EQ, version=0),),
                       success=(PutRequest(b"saw-nothing", b""),),
                       failure=(PutRequest(b"saw-new", b""),))
    store.apply(TxnRequest(success=(PutRequest(b"new", b""), inner)))
    assert get(store, b"saw-nothing") and get(store, b"saw-new") is None


def test_a_failing_op_leaves_the_txn_unapplied(store):
    with pytest.raises(KVError) as err:
        store.apply(TxnRequest(success=(PutRequest(b"x", b""), PutRequest(b"y", b"", lease=77))))
    assert err.value.kind is ErrorKind.LEASE_NOT_FOUND
    assert get(store, b"x") is None and store.current_revision == 4


def test_ignore_value_in_a_txn_needs_the_key_before_the_txn(store):
    with pytest.raises(KVError, match="etcdserver: key not found"):
        store.apply(TxnRequest(success=(PutRequest(b"zz", ignore_value=True),)))


def test_read_at_a_future_revision_in_a_txn_is_refused_before_writing(store):
    with pytest.raises(KVError) as err:
        store.apply(TxnRequest(success=(PutRequest(b"x", b""), RangeRequest(b"x", revision=5))))
    assert err.value.kind is ErrorKind.FUTURE_REV
    assert store.current_revision == 4


def test_only_the_chosen_branch_is_checked(store):
    resp = store.apply(TxnRequest(success=(PutRequest(b"ok", b""),),
                                  failure=(PutRequest(b"bad", b"", lease=77),)))
    assert resp.succeeded


def test_at_most_128_ops_per_list(store):
    ops = tuple(PutRequest(b"k%d" % i, b"") for i in range(128))
    assert store.apply(TxnRequest(success=ops)).succeeded
    with pytest.raises(KVError) as err:
        store.apply(TxnRequest(success=ops + (PutRequest(b"one-more", b""),)))
    assert str(err.value) == "etcdserver: too many operations in txn request"
    assert err.value.code == "INVALID_ARGUMENT"
    compares = tuple(Compare(b"a", T.VERSION, GT, version=0) for _ in range(129))
    with pytest.raises(KVError, match="too many operations"):
        store.apply(TxnRequest(compare=compares))


def test_nested_txns_share_the_op_budget(store):
    inner = TxnRequest(success=tuple(RangeRequest(b"a") for _ in range(64)))
    outer_ok = TxnRequest(success=(inner,) + tuple(RangeRequest(b"a") for _ in range(63)))
    assert store.apply(outer_ok).succeeded
    outer_bad = TxnRequest(success=(inner,) + tuple(RangeRequest(b"a") for _ in range(64)))
    with pytest.raises(KVError, match="too many operations"):
        store.apply(outer_bad)


@pytest.mark.parametrize("ops", [
    (PutRequest(b"k", b"1"), PutRequest(b"k", b"2")),
    (PutRequest(b"k", b""), DeleteRangeRequest(b"k")),
    (DeleteRangeRequest(b"a", b"z"), PutRequest(b"k", b"")),
    (DeleteRangeRequest(b"a", b"\0"), PutRequest(b"k", b"")),
    (PutRequest(b"k", b""), TxnRequest(success=(PutRequest(b"k", b""),))),
    (TxnRequest(failure=(PutRequest(b"k", b""),)), DeleteRangeRequest(b"j", b"l")),
    (TxnRequest(success=(DeleteRangeRequest(b"k"),)),
     TxnRequest(success=(PutRequest(b"k", b""),))),
])
def test_a_key_written_twice_is_refused(store, ops):
    with pytest.raises(KVError) as err:
        store.apply(TxnRequest(success=ops))
    assert str(err.value) == "etcdserver: duplicate key given in txn request"
    assert err.value.code == "INVALID_ARGUMENT"
    assert store.current_revision == 4


@pytest.mark.parametrize("ops", [
    (DeleteRangeRequest(b"a", b"m"), DeleteRangeRequest(b"c", b"z")),  # deletes may overlap
    (TxnRequest(success=(PutRequest(b"k", b""),), failure=(PutRequest(b"k", b""),)),),
    (PutRequest(b"k", b""), RangeRequest(b"k")),
    (PutRequest(b"a", b""), DeleteRangeRequest(b"b", b"z")),
])
def test_allowed_combinations(store, ops):
    store.apply(TxnRequest(success=ops))


def test_success_and_failure_lists_are_checked_apart(store):
    store.apply(TxnRequest(success=(PutRequest(b"k", b""),), failure=(PutRequest(b"k", b""),)))


def test_overlapping_deletes_delete_each_key_once(store):
    resp = store.apply(TxnRequest(success=(DeleteRangeRequest(b"a", b"c"),
                                           DeleteRangeRequest(b"b", b"\0"))))
    assert [r.deleted for r in resp.responses] == [2, 0]


def test_read_only_txn_served_locally(store):
    resp = store.read_only_txn(TxnRequest(
        compare=(Compare(b"a", T.VERSION, EQ, version=2),), success=(RangeRequest(b"b"),)))
    assert resp.succeeded and resp.responses[0].kvs[0].value == b"banana"
    with pytest.raises(ValueError):
        store.read_only_txn(TxnRequest(failure=(PutRequest(b"x", b""),)))
