"""Fuzz the gRPC front door: etcd's protobuf requests, with every field free to take any
value its wire type allows (enum numbers etcd never defined, negative limits and
revisions, huge leases, empty ops, nested txns), turned into keyspace requests.

The conversion (engine/runtime/etcd_convert.py) may only refuse with ValueError (the
server answers INVALID_ARGUMENT); the keyspace's own checks (`validate_request`) may only
refuse with KVError; and whatever passes must encode for the Raft log and decode back to
itself. Each example is also parsed as raw protobuf wire bytes of a TxnRequest (protobuf
may only refuse with DecodeError) and converted the same way.
"""

from __future__ import annotations

import random

from google.protobuf.message import DecodeError
import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.kv import KVError, decode_request, encode_request, validate_request
from engine.runtime import etcd_convert as cv
from engine.runtime.proto import rpc_pb2

from .fuzzing import FUZZ

INT64 = (-(1 << 63), (1 << 63) - 1)
INT32 = (-(1 << 31), (1 << 31) - 1)


class Draw:
    """Field values taken from a seeded stream: edges of each type more often than not."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def int64(self) -> int:
        return self.rng.choice((0, 1, -1, 2, 3, INT64[0], INT64[1], self.rng.randint(*INT64)))

    def enum(self) -> int:
        return self.rng.choice((0, 1, 2, 3, 4, 5, -1, 99, INT32[0], INT32[1]))

    def data(self) -> bytes:
        return self.rng.choice((b"", b"\0", b"k", b"\xff" * 3, self.rng.randbytes(5)))

    def flag(self) -> bool:
        return self.rng.random() < 0.5


def range_pb(d: Draw) -> rpc_pb2.RangeRequest:
    return rpc_pb2.RangeRequest(
        key=d.data(), range_end=d.data(), limit=d.int64(), revision=d.int64(),
        sort_order=d.enum(), sort_target=d.enum(), serializable=d.flag(), keys_only=d.flag(),
        count_only=d.flag(), min_mod_revision=d.int64(), max_mod_revision=d.int64(),
        min_create_revision=d.int64(), max_create_revision=d.int64())


def put_pb(d: Draw) -> rpc_pb2.PutRequest:
    return rpc_pb2.PutRequest(key=d.data(), value=d.data(), lease=d.int64(),
                              prev_kv=d.flag(), ignore_value=d.flag(), ignore_lease=d.flag())


def delete_pb(d: Draw) -> rpc_pb2.DeleteRangeRequest:
    return rpc_pb2.DeleteRangeRequest(key=d.data(), range_end=d.data(), prev_kv=d.flag())


def compare_pb(d: Draw) -> rpc_pb2.Compare:
    c = rpc_pb2.Compare(result=d.enum(), target=d.enum(), key=d.data(), range_end=d.data())
    which = d.rng.choice(("version", "create_revision", "mod_revision", "value", "lease", None))
    if which == "value":
        c.value = d.data()
    elif which is not None:
        setattr(c, which, d.int64())
    return c


def op_pb(d: Draw, depth: int) -> rpc_pb2.RequestOp:
    kind = d.rng.randrange(5 if depth < 3 else 4)
    if kind == 0:
        return rpc_pb2.RequestOp(request_range=range_pb(d))
    if kind == 1:
        return rpc_pb2.RequestOp(request_put=put_pb(d))
    if kind == 2:
        return rpc_pb2.RequestOp(request_delete_range=delete_pb(d))
    if kind == 3:
        return rpc_pb2.RequestOp()                  # no operation at all
    return rpc_pb2.RequestOp(request_txn=txn_pb(d, depth + 1))


def txn_pb(d: Draw, depth: int = 0) -> rpc_pb2.TxnRequest:
    n = lambda: d.rng.randrange(4)  # noqa: E731
    return rpc_pb2.TxnRequest(compare=[compare_pb(d) for _ in range(n())],
                              success=[op_pb(d, depth) for _ in range(n())],
                              failure=[op_pb(d, depth) for _ in range(n())])


CONVERSIONS = [(range_pb, cv.range_request), (put_pb, cv.put_request),
               (delete_pb, cv.delete_request), (txn_pb, cv.txn_request)]


def convert_as_documented(convert, message) -> None:
    try:
        request = convert(message)
    except ValueError:
        return
    try:
        validate_request(request)
    except KVError:
        pass
    assert decode_request(encode_request(request)) == request


@pytest.mark.slow
@FUZZ
@given(st.integers(0, 2**64), st.binary(max_size=120))
def test_fuzz_grpc_request_conversion(seed, wire):
    d = Draw(seed)
    for build, convert in CONVERSIONS:
        convert_as_documented(convert, build(d))
    try:
        parsed = rpc_pb2.TxnRequest.FromString(wire)
    except DecodeError:
        return
    convert_as_documented(cv.txn_request, parsed)
