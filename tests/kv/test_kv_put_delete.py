"""Put and DeleteRange with their options and etcd's refusals."""

import pytest
from kv_helpers import delete, get, put

from engine.kv import (ErrorKind, KVError, KVStore, LeaseGrantRequest, PutRequest)


@pytest.fixture
def store():
    return KVStore()


def test_put_returns_prev_kv_only_when_asked(store):
    assert put(store, b"k", b"1", prev_kv=True).prev_kv is None
    assert put(store, b"k", b"2").prev_kv is None
    prev = put(store, b"k", b"3", prev_kv=True).prev_kv
    assert (prev.value, prev.mod_revision, prev.version) == (b"2", 3, 2)


def test_put_with_a_lease_attaches_the_key(store):
    store.apply(LeaseGrantRequest(ttl=60, id=7))
    put(store, b"k", b"v", lease=7)
    assert get(store, b"k").lease == 7
    assert store._lessor.lookup(7).keys == {b"k"}


def test_put_with_a_missing_lease_is_refused_and_changes_nothing(store):
    with pytest.raises(KVError) as err:
        put(store, b"k", b"v", lease=99)
    assert str(err.value) == "etcdserver: requested lease not found"
    assert err.value.code == "NOT_FOUND"
    assert store.current_revision == 1


def test_put_without_lease_detaches_the_old_one(store):
    store.apply(LeaseGrantRequest(ttl=60, id=7))
    put(store, b"k", b"v", lease=7)
    put(store, b"k", b"w")
    assert store._lessor.lookup(7).keys == set()


def test_ignore_value_keeps_the_old_value(store):
    store.apply(LeaseGrantRequest(ttl=60, id=7))
    put(store, b"k", b"old")
    put(store, b"k", ignore_value=True, lease=7)
    kv = get(store, b"k")
    assert (kv.value, kv.lease, kv.version) == (b"old", 7, 2)


def test_ignore_lease_keeps_the_old_lease(store):
    store.apply(LeaseGrantRequest(ttl=60, id=7))
    put(store, b"k", b"a", lease=7)
    put(store, b"k", b"b", ignore_lease=True)
    kv = get(store, b"k")
    assert (kv.value, kv.lease) == (b"b", 7)


@pytest.mark.parametrize("request_, message", [
    (PutRequest(b"k", b"v", ignore_value=True), "etcdserver: value is provided"),
    (PutRequest(b"k", lease=5, ignore_lease=True), "etcdserver: lease is provided"),
    (PutRequest(b"", b"v"), "etcdserver: key is not provided"),
])
def test_put_option_conflicts_are_refused(store, request_, message):
    put(store, b"k", b"v")
    with pytest.raises(KVError) as err:
        store.apply(request_)
    assert str(err.value) == message
    assert err.value.code == "INVALID_ARGUMENT"


@pytest.mark.parametrize("option", ["ignore_value", "ignore_lease"])
def test_ignore_options_need_an_existing_key(store, option):
    with pytest.raises(KVError) as err:
        store.apply(PutRequest(b"missing", **{option: True}))
    assert err.value.kind is ErrorKind.KEY_NOT_FOUND
    assert str(err.value) == "etcdserver: key not found"


def test_delete_range_counts_and_returns_prev_kvs(store):
    for key in (b"a", b"b", b"c"):
        put(store, key, key * 2)
    resp = delete(store, b"a", b"c", prev_kv=True)
    assert resp.deleted == 2
    assert [(kv.key, kv.value) for kv in resp.prev_kvs] == [(b"a", b"aa"), (b"b", b"bb")]
    assert resp.header.revision == 5


def test_delete_without_prev_kv_returns_none(store):
    put(store, b"a")
    resp = delete(store, b"a")
    assert (resp.deleted, resp.prev_kvs) == (1, ())


def test_delete_all_keys(store):
    for key in (b"a", b"b"):
        put(store, key)
    assert delete(store, b"\0", b"\0").deleted == 2
    assert get(store, b"a") is None and get(store, b"b") is None


def test_delete_detaches_from_the_lease(store):
    store.apply(LeaseGrantRequest(ttl=60, id=7))
    put(store, b"k", lease=7)
    delete(store, b"k")
    assert store._lessor.lookup(7).keys == set()


def test_str_keys_are_refused_at_construction():
    with pytest.raises(TypeError):
        PutRequest("k", b"v")
