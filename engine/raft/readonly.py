"""ReadIndex bookkeeping on the leader: read requests waiting for a heartbeat quorum.

A linearizable read records the commit index at the time it arrives, then piggybacks its
context on a round of heartbeats; once a quorum of voters echoes that context, the leader
knows it was still the leader at that moment and every read queued up to it may be served
at its recorded index.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .types import Message


@dataclass(slots=True)
class ReadIndexStatus:
    request: Message
    index: int
    acks: set[int] = field(default_factory=set)


class ReadOnly:
    def __init__(self) -> None:
        self.pending: dict[bytes, ReadIndexStatus] = {}
        self.queue: list[bytes] = []

    def add_request(self, index: int, m: Message) -> None:
        ctx = m.context
        if ctx in self.pending:
            return
        self.pending[ctx] = ReadIndexStatus(request=m, index=index)
        self.queue.append(ctx)

    def recv_ack(self, node_id: int, ctx: bytes) -> set[int] | None:
        status = self.pending.get(ctx)
        if status is None:
            return None
        status.acks.add(node_id)
        return status.acks

    def advance(self, ctx: bytes) -> list[ReadIndexStatus]:
        """Release every request queued up to and including ctx."""
        if ctx not in self.pending:
            return []
        n = self.queue.index(ctx) + 1
        released = [self.pending.pop(c) for c in self.queue[:n]]
        del self.queue[:n]
        return released

    def last_pending_request_ctx(self) -> bytes:
        return self.queue[-1] if self.queue else b""

    def reset(self) -> None:
        self.pending.clear()
        self.queue.clear()
