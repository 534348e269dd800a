"""Leases: grant, revoke, keep-alive, time-to-live, and expiry decided by the leader."""

import random

import pytest
from kv_helpers import get, put

from engine.kv import (MAX_LEASE_TTL, ErrorKind, KVConfig, KVError, KVStore,
                       LeaseGrantRequest, LeaseRevokeRequest, min_lease_ttl, pick_lease_id)


def grant(store, lease_id, ttl, now=0.0):
    return store.apply(LeaseGrantRequest(ttl=ttl, id=lease_id), now=now)


def test_grant_returns_id_and_ttl():
    store = KVStore()
    resp = grant(store, 5, 30)
    assert (resp.id, resp.ttl, resp.header.revision) == (5, 30, 1)
    assert store.lease_leases().leases == (5,)


def test_ttl_is_raised_to_the_minimum():
    assert min_lease_ttl(election_ticks=10, tick_ms=100) == 2  # etcd's defaults
    assert min_lease_ttl(election_ticks=20, tick_ms=100) == 3
    store = KVStore(KVConfig(min_lease_ttl=5))
    assert grant(store, 1, 1).ttl == 5
    assert grant(store, 2, -3).ttl == 5
    assert grant(store, 3, 6).ttl == 6
    assert grant(KVStore(KVConfig(min_lease_ttl=0)), 1, 0).ttl == 1  # never below a second


@pytest.mark.parametrize("lease_id, ttl, kind, message, code", [
    (1, 10, ErrorKind.LEASE_EXIST, "etcdserver: lease already exists", "FAILED_PRECONDITION"),
    (0, 10, ErrorKind.LEASE_NOT_FOUND, "etcdserver: requested lease not found", "NOT_FOUND"),
    (2, MAX_LEASE_TTL + 1, ErrorKind.LEASE_TTL_TOO_LARGE, "etcdserver: too large lease TTL",
     "OUT_OF_RANGE"),
])
def test_grant_refusals(lease_id, ttl, kind, message, code):
    store = KVStore()
    grant(store, 1, 10)
    with pytest.raises(KVError) as err:
        grant(store, lease_id, ttl)
    assert (err.value.kind, str(err.value), err.value.code) == (kind, message, code)


def test_max_ttl_is_allowed():
    assert grant(KVStore(), 1, MAX_LEASE_TTL).ttl == MAX_LEASE_TTL


def test_revoke_deletes_attached_keys_in_one_revision():
    store = KVStore()
    grant(store, 1, 60)
    for key in (b"c", b"a", b"b"):
        put(store, key, lease=1)
    put(store, b"free")
    watch = store.watch(b"\0", b"\0")
    resp = store.apply(LeaseRevokeRequest(1))
    assert resp.header.revision == 6 == store.current_revision
    assert [get(store, k) for k in (b"a", b"b", b"c")] == [None, None, None]
    assert get(store, b"free") is not None
    (watch_resp,) = store.take_responses(watch)
    assert [ev.kv.key for ev in watch_resp.events] == [b"a", b"b", b"c"]
    assert store.lease_leases().leases == ()


def test_revoking_a_lease_without_keys_makes_no_revision():
    store = KVStore()
    grant(store, 1, 60)
    assert store.apply(LeaseRevokeRequest(1)).header.revision == 1


def test_revoke_of_a_missing_lease_is_refused():
    with pytest.raises(KVError, match="etcdserver: requested lease not found"):
        KVStore().apply(LeaseRevokeRequest(3))


def test_a_key_moved_to_another_lease_is_not_revoked_with_the_first():
    store = KVStore()
    grant(store, 1, 60)
    grant(store, 2, 60)
    put(store, b"k", lease=1)
    put(store, b"k", lease=2)
    store.apply(LeaseRevokeRequest(1))
    assert get(store, b"k").lease == 2


def test_leader_keepalive_renews_the_deadline():
    store = KVStore()
    store.promote(now=0.0, extend=0.0)
    grant(store, 1, 10, now=100.0)
    assert store.expired_leases(109.9) == []
    resp = store.lease_keepalive(1, now=105.0)
    assert (resp.id, resp.ttl) == (1, 10)
    assert store.expired_leases(114.9) == []
    assert store.expired_leases(115.0) == [1]


def test_keepalive_refusals():
    store = KVStore()
    grant(store, 1, 10)
    with pytest.raises(KVError) as err:
        store.lease_keepalive(1, now=0.0)  # followers forward keep-alives to the leader
    assert err.value.kind is ErrorKind.NOT_LEADER and err.value.code == "UNAVAILABLE"
    store.promote(now=0.0, extend=0.0)
    with pytest.raises(KVError, match="requested lease not found"):
        store.lease_keepalive(2, now=1.0)
    with pytest.raises(KVError, match="requested lease not found"):
        store.lease_keepalive(1, now=10.0)  # already expired: it is waiting to be revoked


def test_time_to_live():
    store = KVStore()
    store.promote(now=0.0, extend=0.0)
    grant(store, 1, 10, now=0.0)
    put(store, b"b", lease=1)
    put(store, b"a", lease=1)
    resp = store.lease_time_to_live(1, now=2.5, keys=True)
    assert (resp.id, resp.ttl, resp.granted_ttl, resp.keys) == (1, 7, 10, (b"a", b"b"))
    assert store.lease_time_to_live(1, now=2.5).keys == ()
    assert store.lease_time_to_live(1, now=12.0).ttl == 0
    missing = store.lease_time_to_live(9, now=0.0)
    assert (missing.id, missing.ttl) == (9, -1)


def test_time_to_live_on_a_follower_is_refused():
    store = KVStore()
    grant(store, 1, 10)
    with pytest.raises(KVError) as err:
        store.lease_time_to_live(1, now=0.0)
    assert err.value.kind is ErrorKind.NOT_LEADER


def test_only_the_leader_reports_expired_leases():
    store = KVStore()
    grant(store, 1, 5)
    assert store.expired_leases(1e9) == []   # a follower never expires anything
    store.promote(now=100.0, extend=1.0)
    assert store.expired_leases(105.9) == []
    assert store.expired_leases(106.0) == [1]
    store.demote()
    assert store.expired_leases(1e9) == []


def test_expired_leases_earliest_first_with_limit_and_retry():
    store = KVStore(KVConfig(expired_lease_retry=3.0))
    store.promote(now=0.0, extend=0.0)
    grant(store, 1, 20)
    grant(store, 2, 10)
    grant(store, 3, 15)
    assert store.expired_leases(30.0, limit=2) == [2, 3]
    assert store.expired_leases(31.0) == [1]  # 2 and 3 are not reported again yet...
    assert store.expired_leases(33.0) == [2, 3]  # ...until the retry interval passed
    store.apply(LeaseRevokeRequest(2))
    assert store.expired_leases(40.0) == [3, 1]


def test_a_new_leader_extends_every_lease():
    store = KVStore()
    store.promote(now=0.0, extend=0.0)
    grant(store, 1, 10, now=0.0)
    store.demote()                        # leadership lost at t=8...
    store.promote(now=50.0, extend=1.0)  # ...and regained at t=50: a fresh TTL plus extend
    assert store.expired_leases(60.9) == []
    assert store.expired_leases(61.0) == [1]


def test_grants_applied_on_a_follower_start_counting_at_promotion():
    store = KVStore()
    grant(store, 1, 10, now=0.0)
    store.promote(now=100.0, extend=0.0)
    assert store.is_leader
    assert store.lease_time_to_live(1, now=100.0).ttl == 10


def test_lease_ids_come_from_the_injected_rng():
    ids = [pick_lease_id(random.Random(42)) for _ in range(2)]
    assert ids[0] == ids[1] and 0 < ids[0] < 2**63


def test_revoked_lease_cannot_be_attached():
    store = KVStore()
    grant(store, 1, 10)
    store.apply(LeaseRevokeRequest(1))
    with pytest.raises(KVError, match="requested lease not found"):
        put(store, b"k", lease=1)
