"""The fault gate: what happens to each outgoing Raft message of one node.

Sits between a node's Ready loop and its peer transport, and is changed at run time by the
control service (the UI, the lessons, the torture nemesis): one-way link cuts (a full
partition is two cuts per pair), a drop rate, an added delay, and hold mode, in which
messages wait until a controller delivers or drops each one. Pure logic: the transport
asks `route()` and acts on the verdict.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field

from engine.raft import Message, describe_message


@dataclass(frozen=True, slots=True)
class HeldMessage:
    id: int
    message: Message

    def describe(self) -> str:
        return f"#{self.id} {describe_message(self.message)}"


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str            # "send", "drop" or "hold"
    delay: float = 0.0     # seconds to wait before sending
    reason: str = ""


@dataclass
class FaultGate:
    node_id: int
    rng: random.Random = field(default_factory=random.Random)
    cut: set[int] = field(default_factory=set)     # peers this node cannot reach
    drop_rate: float = 0.0
    delay: float = 0.0
    hold: bool = False
    held: dict[int, HeldMessage] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    # -- configuration, from the control service --

    def set_cut(self, peers: set[int]) -> None:
        self.cut = set(peers)

    def heal(self) -> None:
        self.cut.clear()
        self.drop_rate = 0.0
        self.delay = 0.0

    def set_drop_rate(self, rate: float) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"drop rate must be between 0 and 1, got {rate}")
        self.drop_rate = rate

    def set_delay(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"delay must not be negative, got {seconds}")
        self.delay = seconds

    def set_hold(self, on: bool) -> list[HeldMessage]:
        """Turn hold mode on or off; turning it off releases every held message."""
        self.hold = on
        if on:
            return []
        released = list(self.held.values())
        self.held.clear()
        return released

    # -- per message --

    def route(self, m: Message) -> Verdict:
        if m.to in self.cut:
            return Verdict("drop", reason=f"link {self.node_id}->{m.to} is cut")
        if self.hold:
            held = HeldMessage(next(self._ids), m)
            self.held[held.id] = held
            return Verdict("hold", reason=f"held as #{held.id}")
        if self.drop_rate and self.rng.random() < self.drop_rate:
            return Verdict("drop", reason="dropped at random")
        return Verdict("send", delay=self.delay)

    def release(self, held_id: int) -> Message:
        """Deliver one held message: the caller sends what this returns."""
        try:
            return self.held.pop(held_id).message
        except KeyError:
            raise KeyError(f"no held message #{held_id}") from None

    def discard(self, held_id: int) -> Message:
        try:
            return self.held.pop(held_id).message
        except KeyError:
            raise KeyError(f"no held message #{held_id}") from None
