"""What a Raft entry of the live cluster carries, and the waiters for its result.

    [u8 kind][u64 request id][payload]
    [u8 kind | TRACED][u64 request id][u8 n][n bytes: the client's trace id][payload]

kind KV holds an encoded keyspace request, MEMBER_ATTR a member's published name and
client URLs, MEMBER_UPDATE its new peer URLs. Every member applies every entry; the member
that proposed it finds its waiter by request id and answers its client with the result of
its own apply, as etcd does.

The request id is the proposing member's own. The second form also carries the id a
client gave its request (the `raftviz-request` gRPC metadata, see tracing.py), so whoever
watches the logs can follow that request from proposal to apply on every member; the
bytes travel unchanged when a follower forwards the proposal to the leader.
"""

from __future__ import annotations

import enum
import functools
import itertools
import struct
from concurrent.futures import Future
from dataclasses import dataclass, field

import trio

from engine.kv import Request, decode_request

_HEAD = struct.Struct(">BQ")
TRACED = 0x80           # the kind byte's flag: a trace id follows the header
MAX_TRACE_BYTES = 64
DECODED_KEPT = 512      # more than a member's log holds unapplied under a heavy load
DECODED_MAX_BYTES = 4096


class Kind(enum.IntEnum):
    KV = 1
    MEMBER_ATTR = 2      # a member publishes its name and client URLs
    MEMBER_UPDATE = 3    # `member update`: new peer URLs


def wrap(kind: Kind, request_id: int, payload: bytes, trace: str = "") -> bytes:
    if not trace:
        return _HEAD.pack(kind, request_id) + payload
    tag = trace.encode("ascii")
    if len(tag) > MAX_TRACE_BYTES:
        raise ValueError(f"a trace id has at most {MAX_TRACE_BYTES} bytes, not {len(tag)}")
    return _HEAD.pack(kind | TRACED, request_id) + bytes([len(tag)]) + tag + payload


def unwrap(data: bytes) -> tuple[Kind, int, bytes]:
    kind, request_id, _, payload = unwrap_traced(data)
    return kind, request_id, payload


def unwrap_traced(data: bytes) -> tuple[Kind, int, str, bytes]:
    """kind, request id, the client's trace id ("" if none) and payload."""
    if len(data) < _HEAD.size:
        raise ValueError(f"entry of {len(data)} bytes is too short for its header")
    kind, request_id = _HEAD.unpack_from(data)
    if not kind & TRACED:
        return Kind(kind), request_id, "", data[_HEAD.size:]
    start = _HEAD.size + 1
    if len(data) < start or len(data) < start + data[_HEAD.size]:
        raise ValueError(f"entry of {len(data)} bytes is too short for its trace id")
    end = start + data[_HEAD.size]
    try:
        trace = data[start:end].decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("an entry's trace id is not ASCII") from None
    return Kind(kind & ~TRACED), request_id, trace, data[end:]


def kv_request(payload: bytes) -> Request:
    """The keyspace request a KV entry's payload holds (decode_request), decoded once per
    member: its reports describe the entries in its log, under load before they are
    applied, and the apply would decode each of them again. Requests are immutable, so
    both may hold the same one. Only small payloads are kept, or a few hundred large
    values would stay in memory for nothing."""
    if len(payload) > DECODED_MAX_BYTES:
        return decode_request(payload)
    return _small_kv_request(payload)


@functools.lru_cache(maxsize=DECODED_KEPT)
def _small_kv_request(payload: bytes) -> Request:
    return decode_request(payload)


class IdGenerator:
    """Request ids unique across members: the member id's low 16 bits, then a counter
    that starts from the clock so ids from before a restart are not reused."""

    def __init__(self, member_id: int, start: int) -> None:
        self.prefix = (member_id & 0xFFFF) << 48
        self.counter = itertools.count(start & ((1 << 48) - 1))

    def next(self) -> int:
        return self.prefix | (next(self.counter) & ((1 << 48) - 1))


@dataclass
class Waiter:
    done: trio.Event = field(default_factory=trio.Event)
    result: object = None
    error: BaseException | None = None
    future: Future | None = None     # a thread waits on this instead (gRPC workers)

    def set(self, result: object = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()
        if self.future is not None:
            if error is not None:
                self.future.set_exception(error)
            else:
                self.future.set_result(result)


class Waiters:
    def __init__(self) -> None:
        self.pending: dict[int, Waiter] = {}

    def register(self, request_id: int, future: Future | None = None) -> Waiter:
        w = self.pending[request_id] = Waiter(future=future)
        return w

    def trigger(self, request_id: int, result: object = None,
                error: BaseException | None = None) -> None:
        w = self.pending.pop(request_id, None)
        if w is not None:
            w.set(result, error)

    def forget(self, request_id: int) -> None:
        self.pending.pop(request_id, None)

    def fail_all(self, error: BaseException) -> None:
        """The member is stopping: nobody will apply what these wait for."""
        pending, self.pending = self.pending, {}
        for w in pending.values():
            w.set(None, error)
