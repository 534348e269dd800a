"""What a Raft entry of the live cluster carries, and the waiters for its result.

    [u8 kind][u64 request id][payload]

kind KV holds an encoded keyspace request, MEMBER_ATTR a member's published name and
client URLs, MEMBER_UPDATE its new peer URLs. Every member applies every entry; the member that proposed it finds its waiter by
request id and answers its client with the result of its own apply, as etcd does.
"""

from __future__ import annotations

import enum
import itertools
import struct
from concurrent.futures import Future
from dataclasses import dataclass, field

import trio

_HEAD = struct.Struct(">BQ")


class Kind(enum.IntEnum):
    KV = 1
    MEMBER_ATTR = 2      # a member publishes its name and client URLs
    MEMBER_UPDATE = 3    # `member update`: new peer URLs


def wrap(kind: Kind, request_id: int, payload: bytes) -> bytes:
    return _HEAD.pack(kind, request_id) + payload


def unwrap(data: bytes) -> tuple[Kind, int, bytes]:
    if len(data) < _HEAD.size:
        raise ValueError(f"entry of {len(data)} bytes is too short for its header")
    kind, request_id = _HEAD.unpack_from(data)
    return Kind(kind), request_id, data[_HEAD.size:]


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
