"""The storage quota, the NOSPACE alarm and the other alarms as store state."""

import pytest
from kv_helpers import delete, get, put

from engine.kv import (DEFAULT_QUOTA_BYTES, LEASE_OVERHEAD, RECORD_OVERHEAD, AlarmAction,
                       AlarmMember, AlarmRequest, AlarmType, CompactionRequest,
                       DeleteRangeRequest, ErrorKind, KVConfig, KVError, KVStore,
                       LeaseGrantRequest, LeaseRevokeRequest, PutRequest, RangeRequest,
                       TxnRequest, request_cost)

NOSPACE = AlarmType.NOSPACE


def alarm(store, action, member_id=0, kind=AlarmType.NONE):
    return store.apply(AlarmRequest(action, member_id, kind)).alarms


def test_default_quota_is_two_gib():
    assert KVConfig().quota_backend_bytes == DEFAULT_QUOTA_BYTES == 2 * 1024**3


def test_size_estimate_counts_records_and_leases():
    store = KVStore()
    put(store, b"key", b"value")
    assert store.size_bytes == 3 + 5 + RECORD_OVERHEAD
    delete(store, b"key")
    assert store.size_bytes == (3 + 5 + RECORD_OVERHEAD) + (3 + RECORD_OVERHEAD)
    assert request_cost(LeaseGrantRequest(ttl=5, id=1)) == LEASE_OVERHEAD
    assert request_cost(TxnRequest(success=(PutRequest(b"a", b"1"),),
                                   failure=(PutRequest(b"bb", b"22"),))) == 4 + RECORD_OVERHEAD
    assert request_cost(DeleteRangeRequest(b"a")) == 0


def full_store():
    """A store holding lease 1 that has just refused a write for lack of space."""
    store = KVStore(KVConfig(quota_backend_bytes=1000))
    store.apply(LeaseGrantRequest(ttl=60, id=1))
    for i in range(100):
        request = PutRequest(b"k%02d" % i, b"x" * 100)
        if not store.quota_available(request):
            with pytest.raises(KVError) as err:
                store.apply(request)
            assert err.value.kind is ErrorKind.NO_SPACE
            return store
        store.apply(request)
    raise AssertionError("the quota never filled")


def test_a_write_past_the_quota_is_refused():
    store = full_store()
    assert store.size_bytes < 1000
    with pytest.raises(KVError) as err:
        put(store, b"big", b"x" * 100)
    assert str(err.value) == "etcdserver: mvcc: database space exceeded"
    assert err.value.code == "RESOURCE_EXHAUSTED"
    put(store, b"s")  # a small write still fits: no alarm is raised by the store itself


def test_under_nospace_only_reads_deletes_compaction_revokes_and_alarms_pass():
    store = full_store()
    assert alarm(store, AlarmAction.ACTIVATE, 3, NOSPACE) == (AlarmMember(3, NOSPACE),)
    refused = [PutRequest(b"s", b""), LeaseGrantRequest(ttl=5, id=2),
               TxnRequest(failure=(PutRequest(b"s", b""),))]  # a txn that could put
    for request in refused:
        with pytest.raises(KVError, match="database space exceeded"):
            store.apply(request)
    store.apply(RangeRequest(b"k00"))
    store.apply(TxnRequest(success=(DeleteRangeRequest(b"k00"), RangeRequest(b"k01"))))
    assert delete(store, b"k01").deleted == 1
    store.apply(CompactionRequest(store.current_revision))
    store.apply(LeaseRevokeRequest(1))


def test_disarming_nospace_lets_writes_through_again():
    store = full_store()
    alarm(store, AlarmAction.ACTIVATE, 3, NOSPACE)
    delete(store, b"\0", b"\0")
    store.apply(CompactionRequest(store.current_revision))
    assert alarm(store, AlarmAction.DEACTIVATE, 3, NOSPACE) == (AlarmMember(3, NOSPACE),)
    put(store, b"again", b"x" * 100)
    assert get(store, b"again") is not None


def test_alarms_are_kept_per_member_and_type():
    store = KVStore()
    alarm(store, AlarmAction.ACTIVATE, 2, NOSPACE)
    alarm(store, AlarmAction.ACTIVATE, 1, NOSPACE)
    alarm(store, AlarmAction.ACTIVATE, 1, NOSPACE)  # raising twice is one alarm
    alarm(store, AlarmAction.ACTIVATE, 3, AlarmType.CORRUPT)
    assert alarm(store, AlarmAction.GET) == (
        AlarmMember(1, NOSPACE), AlarmMember(2, NOSPACE), AlarmMember(3, AlarmType.CORRUPT))
    assert alarm(store, AlarmAction.GET, kind=AlarmType.CORRUPT) == (
        AlarmMember(3, AlarmType.CORRUPT),)
    assert alarm(store, AlarmAction.DEACTIVATE, 1, NOSPACE) == (AlarmMember(1, NOSPACE),)
    assert alarm(store, AlarmAction.DEACTIVATE, 1, NOSPACE) == ()
    assert alarm(store, AlarmAction.ACTIVATE, 4, AlarmType.NONE) == ()
    assert store.alarms(NOSPACE) == (AlarmMember(2, NOSPACE),)
    with pytest.raises(KVError):
        put(store, b"k")  # member 2's NOSPACE is still raised


def test_corrupt_alarm_refuses_everything_but_alarms():
    store = KVStore()
    put(store, b"k")
    alarm(store, AlarmAction.ACTIVATE, 1, AlarmType.CORRUPT)
    for request in (PutRequest(b"k", b""), RangeRequest(b"k"), DeleteRangeRequest(b"k"),
                    CompactionRequest(2), LeaseGrantRequest(ttl=5, id=1)):
        with pytest.raises(KVError) as err:
            store.apply(request)
        assert (str(err.value), err.value.code) == ("etcdserver: corrupt cluster", "DATA_LOSS")
    alarm(store, AlarmAction.DEACTIVATE, 1, AlarmType.CORRUPT)
    put(store, b"k")
