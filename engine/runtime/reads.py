"""Linearizable reads on a live member: ReadIndex rounds, then waiting for the apply.

Reads queue up between two turns of the member's loop and share one ReadIndex round (etcd
batches them the same way). When the round answers with a commit index, each read waits
until the member has applied that far, then its callback runs on the loop: a gRPC worker
thread waiting on a future, or a trio task waiting on an event. A follower without a
leader drops ReadIndex silently, so unanswered rounds are asked again; reads that outlive
the request timeout fail.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable


@dataclass(eq=False)
class Read:
    on_ready: Callable[[], None]           # applied far enough: serve it now
    on_timeout: Callable[[], None]
    deadline: float
    index: int = 0
    finished: bool = False

    def ready(self) -> None:
        if not self.finished:
            self.finished = True
            self.on_ready()

    def expire(self) -> None:
        if not self.finished:
            self.finished = True
            self.on_timeout()


@dataclass
class ReadQueue:
    next_id: Callable[[], int]
    retry_after: float
    queued: list[Read] = field(default_factory=list)
    rounds: dict[bytes, tuple[list[Read], float]] = field(default_factory=dict)
    waiting_apply: list[Read] = field(default_factory=list)

    def add(self, read: Read) -> None:
        self.queued.append(read)

    def start_round(self, read_index: Callable[[bytes], None], now: float) -> None:
        """One ReadIndex for everything queued since the last turn."""
        batch = [r for r in self.queued if not r.finished]
        self.queued = []
        if batch:
            ctx = struct.pack(">Q", self.next_id())
            self.rounds[ctx] = (batch, now)
            read_index(ctx)

    def answered(self, ctx: bytes, index: int, applied: int) -> None:
        batch, _ = self.rounds.pop(ctx, ((), 0.0))
        for read in batch:
            read.index = index
            if index <= applied:
                read.ready()
            else:
                self.waiting_apply.append(read)

    def applied(self, applied: int) -> None:
        still = []
        for read in self.waiting_apply:
            if read.index <= applied:
                read.ready()
            elif not read.finished:
                still.append(read)
        self.waiting_apply = still

    def tick(self, now: float) -> bool:
        """Expire late reads, requeue unanswered rounds; True if a new round is needed."""
        for read in self.queued + self.waiting_apply:
            if now >= read.deadline:
                read.expire()
        for ctx, (batch, sent) in list(self.rounds.items()):
            if now - sent >= self.retry_after:
                del self.rounds[ctx]
                for read in batch:
                    if now >= read.deadline:
                        read.expire()
                    elif not read.finished:
                        self.queued.append(read)
        self.waiting_apply = [r for r in self.waiting_apply if not r.finished]
        return bool(self.queued)
