"""Fuzz the keyspace's decoders: encoded requests (Raft entry data) and snapshots.

`decode_request` must raise RequestDecodeError and nothing else, and accept only the
canonical bytes of a request; `KVStore.restore` must raise SnapshotError and nothing
else, and a failed `install_snapshot` must leave the store exactly as it was.
"""

from __future__ import annotations

import base64
import enum
import json
import random
import typing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.kv import (
    AlarmRequest, Compare, CompactionRequest, CompareResult, CompareTarget,
    DeleteRangeRequest, KVStore, LeaseGrantRequest, LeaseRevokeRequest, PutRequest,
    RangeRequest, RequestDecodeError, SnapshotError, TxnRequest, decode_request,
    encode_request,
)
from engine.kv.codec import MAX_DEPTH
from engine.runtime.envelope import unwrap as unwrap_envelope

from .fuzzing import FUZZ, mutate, with_crc32


def sample_requests() -> list[bytes]:
    rng = random.Random(7)
    key = lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(4)))  # noqa: E731
    cmp = Compare(key(), CompareTarget.MOD, CompareResult.LESS, mod_revision=rng.randrange(9))
    reqs = [PutRequest(key() or b"k", key(), lease=rng.randrange(3), prev_kv=True),
            RangeRequest(b"a", b"\0", limit=3, revision=2), DeleteRangeRequest(b"k", b"z"),
            LeaseGrantRequest(5, 77),
            TxnRequest((cmp,), (PutRequest(b"x", b"1"), RangeRequest(b"x")),
                       (TxnRequest((), (DeleteRangeRequest(b"y"),)),))]
    return [encode_request(r) for r in reqs]


SAMPLES = sample_requests()
TYPES = {cls.__name__: cls for cls in (
    RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest, Compare, CompactionRequest,
    LeaseGrantRequest, LeaseRevokeRequest, AlarmRequest)}
HINTS = {name: typing.get_type_hints(cls) for name, cls in TYPES.items()}
JUNK = [None, 1.5, "", "===", "\u00ff", [], {}, -1, 2**70, True]


def json_from(data: bytes) -> object:
    """A request as JSON, every choice taken from the bytes: a real request type with its
    real fields, mostly of the right JSON types (base64 strings, enum names, nested
    compares and ops), now and then a wrong value, a missing or an extra field."""
    stream = iter(data)

    def byte() -> int:
        return next(stream, 0)

    def value(hint: object, depth: int) -> object:
        b = byte()
        if b >= 240:
            return JUNK[b % len(JUNK)]
        if hint is bytes:
            return base64.b64encode(bytes(byte() for _ in range(b % 4))).decode()
        if hint is bool:
            return b % 2 == 0
        if hint is int:
            return (b - 100) * (1 << (byte() % 64))
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            return list(hint.__members__)[b % len(hint.__members__)]
        inner = "Compare" if hint == tuple[Compare, ...] else None
        return [request(depth + 1, inner) for _ in range(b % 3)]

    def request(depth: int, name: str | None = None) -> object:
        names = list(TYPES)
        name = name or names[byte() % len(names)]
        obj = {"type": name}
        for field, hint in HINTS[name].items():
            if byte() != 7:                     # now and then a field goes missing
                obj[field] = value(hint, depth) if depth < 5 else []
        if byte() == 9:
            obj["extra"] = 1
        return obj
    return request(0)


def decode_only_as_documented(data: bytes) -> None:
    try:
        request = decode_request(data)
    except RequestDecodeError:
        return
    assert encode_request(request) == data       # only the canonical form is accepted


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=200))
def test_fuzz_request_decoder(data):
    """Each example is three inputs: the random bytes, a request-shaped JSON built from
    them (canonical spelling, so the field checks are reached), and a mutated real
    encoding."""
    decode_only_as_documented(data)
    value = json_from(data)
    decode_only_as_documented(json.dumps(value, sort_keys=True, separators=(",", ":")).encode())
    sample = SAMPLES[data[0] % len(SAMPLES)] if data else SAMPLES[0]
    decode_only_as_documented(mutate(sample, data[1:10] or b"\0"))
    try:
        unwrap_envelope(data)            # the live cluster's entry envelope in front of it
    except ValueError:
        pass


def test_deep_nesting_is_refused_not_a_crash():
    deep = {"type": "TxnRequest", "compare": [], "failure": []}
    inner = deep
    for _ in range(MAX_DEPTH + 5):
        nxt = {"type": "TxnRequest", "compare": [], "failure": [], "success": []}
        inner["success"] = [nxt]
        inner = nxt
    inner["success"] = []
    data = json.dumps(deep, sort_keys=True, separators=(",", ":")).encode()
    decode_only_as_documented(data)
    decode_only_as_documented(b"[" * 100_000)


def sample_store() -> KVStore:
    store = KVStore()
    store.apply(LeaseGrantRequest(30, 9), index=1)
    for n in range(12):
        key = f"k{n % 4}".encode()
        store.apply(PutRequest(key, b"v" * n, lease=9 if n % 5 == 0 else 0), index=n + 2)
    store.apply(DeleteRangeRequest(b"k1"), index=20)
    return store


STORE = sample_store()
SNAPSHOT = STORE.snapshot()
BEFORE = STORE.snapshot()


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_snapshot_restore(data):
    """Random bytes and mutated real snapshots (with the checksum fixed, half the time,
    so the structural checks behind it are reached) only ever raise SnapshotError; a
    failed install leaves the store it was meant for untouched."""
    fix_crc = bool(data) and data[-1] % 2 == 0
    for blob in (data, mutate(SNAPSHOT, data[:13] or b"\0")):
        if fix_crc and len(blob) > 4:
            blob = with_crc32(blob[:-4])
        try:
            restored = KVStore.restore(blob)
        except SnapshotError:
            try:
                STORE.install_snapshot(blob)
            except SnapshotError:
                assert STORE.snapshot() == BEFORE
            else:
                raise AssertionError("install_snapshot accepted what restore refused")
        else:
            assert restored.snapshot() == blob     # only canonical snapshots pass


def test_the_samples_are_valid():
    assert all(decode_request(s) for s in SAMPLES)
    assert KVStore.restore(SNAPSHOT).hash_kv().hash == STORE.hash_kv().hash
    assert base64.b64encode(b"") == b""
