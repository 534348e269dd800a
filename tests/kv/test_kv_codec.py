"""Requests as Raft entry bytes: canonical, round-tripping, and strict on the way back."""

import json

import pytest

from engine.kv import (AlarmAction, AlarmRequest, AlarmType, Compare, CompareResult,
                       CompareTarget, CompactionRequest, DeleteRangeRequest, LeaseGrantRequest,
                       LeaseRevokeRequest, PutRequest, RangeRequest, RequestDecodeError,
                       SortOrder, SortTarget, TxnRequest, decode_request, encode_request)

REQUESTS = [
    RangeRequest(b"a", b"\0", limit=3, revision=2, sort_order=SortOrder.DESCEND,
                 sort_target=SortTarget.MOD, keys_only=True, min_create_revision=1),
    PutRequest(b"\x00\xffkey", b"value\n", lease=7, prev_kv=True),
    PutRequest(b"k", ignore_value=True, ignore_lease=True),
    DeleteRangeRequest(b"a", b"b", prev_kv=True),
    TxnRequest(
        compare=(Compare(b"a", CompareTarget.VALUE, CompareResult.NOT_EQUAL, value=b"x",
                         range_end=b"b"),),
        success=(PutRequest(b"a", b"1"), TxnRequest(failure=(RangeRequest(b"z"),))),
        failure=(DeleteRangeRequest(b"a"),)),
    CompactionRequest(12, physical=True),
    LeaseGrantRequest(ttl=30, id=2**62),
    LeaseRevokeRequest(5),
    AlarmRequest(AlarmAction.ACTIVATE, 3, AlarmType.NOSPACE),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: type(r).__name__)
def test_round_trip(request_):
    data = encode_request(request_)
    assert decode_request(data) == request_
    assert encode_request(decode_request(data)) == data


def test_encoding_is_canonical_json():
    data = encode_request(PutRequest(b"k", b"v"))
    assert data == (b'{"ignore_lease":false,"ignore_value":false,"key":"aw==","lease":0,'
                    b'"prev_kv":false,"type":"PutRequest","value":"dg=="}')


def test_only_requests_encode():
    with pytest.raises(TypeError):
        encode_request(Compare(b"a", CompareTarget.VERSION, CompareResult.EQUAL))


def _mutated(request, **changes):
    obj = json.loads(encode_request(request))
    obj.update(changes)
    for name in [name for name, value in changes.items() if value is ...]:
        del obj[name]
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize("data", [
    b"",
    b"not json",
    b"\xff\xfe",
    b"[]",
    b'{"type":"Nope"}',
    _mutated(PutRequest(b"k"), extra=1),
    _mutated(PutRequest(b"k"), lease=...),
    _mutated(PutRequest(b"k"), lease="7"),
    _mutated(PutRequest(b"k"), lease=True),
    _mutated(PutRequest(b"k"), lease=1.5),
    _mutated(PutRequest(b"k"), prev_kv=1),
    _mutated(PutRequest(b"k"), key="!!!"),
    _mutated(PutRequest(b"k"), key=7),
    _mutated(RangeRequest(b"k"), sort_order="SIDEWAYS"),
    _mutated(TxnRequest(), success=[{"type": "Compare"}]),
    _mutated(TxnRequest(), compare=[encode_request(PutRequest(b"k")).decode()]),
    _mutated(TxnRequest(), failure={"type": "PutRequest"}),
    _mutated(TxnRequest(), success=[json.loads(encode_request(CompactionRequest(1)))]),
    encode_request(PutRequest(b"k")).replace(b",", b", "),          # not canonical spacing
    encode_request(PutRequest(b"k")).replace(b'"aw=="', b'"aw=\\u003d"'),
    b'{"type":"LeaseRevokeRequest","id":1}',                        # keys out of order
    b'{"id":1,"id":2,"type":"LeaseRevokeRequest"}',                 # duplicate key
])
def test_malformed_bytes_are_refused(data):
    with pytest.raises(RequestDecodeError):
        decode_request(data)


def test_deep_nesting_is_refused():
    request = TxnRequest()
    for _ in range(100):
        request = TxnRequest(success=(request,))
    with pytest.raises(RequestDecodeError):
        decode_request(encode_request(request))
