"""Requests as bytes, for Raft entry data: `encode_request` and its strict inverse.

The form is canonical JSON (sorted keys, no spaces, ASCII): an object with the request's
type name under "type" and every field under its own name; bytes are standard base64
strings, enums their member names, nested compares and ops objects of the same form.
Canonical means the same request always gives the same bytes. Decoding accepts exactly
that form, byte for byte: unknown or missing fields, wrong JSON types, bad base64,
unknown enum names, unknown types or nesting deeper than MAX_DEPTH raise
RequestDecodeError.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import json
import typing

from .errors import RequestDecodeError
from .types import (AlarmRequest, Compare, CompactionRequest, DeleteRangeRequest,
                    LeaseGrantRequest, LeaseRevokeRequest, PutRequest, RangeRequest,
                    Request, TxnRequest)

MAX_DEPTH = 64  # nested txns are far shallower in practice; this bounds the recursion

_TYPES = {cls.__name__: cls for cls in (
    RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest, Compare, CompactionRequest,
    LeaseGrantRequest, LeaseRevokeRequest, AlarmRequest)}
_OPS = frozenset({RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest})
_REQUESTS = frozenset(_TYPES.values()) - {Compare}
_HINTS = {cls: typing.get_type_hints(cls) for cls in _TYPES.values()}


def encode_request(request: Request) -> bytes:
    if type(request) not in _REQUESTS:
        raise TypeError(f"not a request: {type(request).__name__}")
    return json.dumps(_to_json(request), sort_keys=True, separators=(",", ":")).encode()


def _to_json(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, tuple):
        return [_to_json(item) for item in value]
    if dataclasses.is_dataclass(value):
        fields = {f.name: _to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **fields}
    return value  # int or bool


def decode_request(data: bytes) -> Request:
    try:
        obj = json.loads(data)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RequestDecodeError(f"request is not JSON: {exc}") from None
    request = typing.cast(Request, _from_json(obj, _REQUESTS, depth=0))
    # Anything but the one canonical spelling (spaces, key order, duplicate keys, base64
    # padding variants...) is refused, so equal requests are always equal bytes.
    if encode_request(request) != bytes(data):
        raise RequestDecodeError("request is not in canonical form")
    return request


def _from_json(obj: object, allowed: frozenset[type], depth: int) -> object:
    if depth > MAX_DEPTH:
        raise RequestDecodeError("request nests too deeply")
    if not isinstance(obj, dict):
        raise RequestDecodeError("expected a JSON object")
    cls = _TYPES.get(obj.get("type"))  # type: ignore[arg-type]
    if cls not in allowed:
        raise RequestDecodeError(f"unexpected request type {obj.get('type')!r}")
    hints = _HINTS[cls]
    if set(obj) != set(hints) | {"type"}:
        raise RequestDecodeError(f"{cls.__name__} fields do not match: {sorted(obj)}")
    kwargs = {name: _field(obj[name], hints[name], f"{cls.__name__}.{name}", depth)
              for name in hints}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise RequestDecodeError(f"invalid {cls.__name__}: {exc}") from None


def _field(value: object, hint: object, where: str, depth: int) -> object:
    if hint is bytes:
        return _bytes(value, where)
    if hint is bool:
        if type(value) is not bool:
            raise RequestDecodeError(f"{where} must be a boolean")
        return value
    if hint is int:
        if type(value) is not int:
            raise RequestDecodeError(f"{where} must be an integer")
        return value
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        if not isinstance(value, str) or value not in hint.__members__:
            raise RequestDecodeError(f"{where} must name a {hint.__name__}")
        return hint[value]
    if not isinstance(value, list):
        raise RequestDecodeError(f"{where} must be a list")
    allowed = frozenset({Compare}) if where.endswith(".compare") else _OPS
    return tuple(_from_json(item, allowed, depth + 1) for item in value)


def _bytes(value: object, where: str) -> bytes:
    if not isinstance(value, str):
        raise RequestDecodeError(f"{where} must be a base64 string")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise RequestDecodeError(f"{where} is not valid base64") from None
