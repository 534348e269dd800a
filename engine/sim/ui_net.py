"""The interactive simulator's wire: every message as a numbered flight the user can see.

A message sent by a node becomes a `Flight` with a stable id. It is either in flight (it
arrives at a seeded time), held (it waits until the user delivers or drops it), or already
delivered or dropped, in which case it moves to a bounded history for the timeline. Cut
links lose what crosses them, at sending and again at arrival, so a message sent before a
partition is still lost if the link is cut when it lands.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass

from engine.observe import MessageStatus
from engine.raft import Message

HISTORY_KEPT = 400


@dataclass(slots=True)
class Flight:
    id: int
    msg: Message
    sent_at: int
    status: MessageStatus
    deliver_at: int | None = None
    delivered_at: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class NetParams:
    min_delay: int = 5          # milliseconds
    max_delay: int = 25
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder: bool = True


class Wire:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.params = NetParams()
        self.hold = False
        self.cuts: set[tuple[int, int]] = set()
        self.pending: dict[int, Flight] = {}          # held or in flight, by id
        self.history: deque[Flight] = deque(maxlen=HISTORY_KEPT)
        self.next_id = 1
        self.last_arrival: dict[tuple[int, int], int] = {}

    # -- sending --

    def send(self, msg: Message, now: int) -> list[Flight]:
        """Put a message on the wire; returns its flight and any duplicate."""
        flight = self._new(msg, now)
        if (msg.frm, msg.to) in self.cuts:
            return [self.finish(flight, MessageStatus.DROPPED, now, self.cut_note(msg))]
        p = self.params
        if p.drop_rate and self.rng.random() < p.drop_rate:
            return [self.finish(flight, MessageStatus.DROPPED, now, "lost by the network")]
        flights = [flight]
        if p.duplicate_rate and self.rng.random() < p.duplicate_rate:
            twin = self._new(msg, now)
            twin.note = f"a duplicate of #{flight.id}"
            flights.append(twin)
        for f in flights:
            self._launch(f, now)
        return flights

    def _new(self, msg: Message, now: int) -> Flight:
        flight = Flight(self.next_id, msg, now, MessageStatus.IN_FLIGHT)
        self.next_id += 1
        self.pending[flight.id] = flight
        return flight

    def _launch(self, flight: Flight, now: int) -> None:
        if self.hold:
            flight.status, flight.deliver_at = MessageStatus.HELD, None
            return
        p = self.params
        at = now + self.rng.randint(p.min_delay, max(p.min_delay, p.max_delay))
        link = (flight.msg.frm, flight.msg.to)
        if not p.reorder:
            at = max(at, self.last_arrival.get(link, 0))
        self.last_arrival[link] = max(at, self.last_arrival.get(link, 0))
        flight.status, flight.deliver_at = MessageStatus.IN_FLIGHT, at

    # -- arriving --

    def finish(self, flight: Flight, status: MessageStatus, now: int, note: str = "") -> Flight:
        """The flight is over: delivered or dropped. It moves to the history."""
        self.pending.pop(flight.id, None)
        flight.status, flight.delivered_at = status, now
        if note:
            flight.note = note
        self.history.append(flight)
        return flight

    def next_arrival(self, blocked: set[int]) -> Flight | None:
        """The in-flight message due first whose receiver is not frozen."""
        due = [f for f in self.pending.values() if f.status is MessageStatus.IN_FLIGHT
               and f.msg.to not in blocked]
        return min(due, key=lambda f: (f.deliver_at, f.id), default=None)

    def get(self, msg_id: int) -> Flight | None:
        return self.pending.get(msg_id)

    def held(self) -> list[Flight]:
        return sorted((f for f in self.pending.values() if f.status is MessageStatus.HELD),
                      key=lambda f: f.id)

    # -- holding --

    def set_hold(self, on: bool, now: int) -> int:
        """Switch hold mode; returns how many messages changed state."""
        self.hold = on
        changed = 0
        for flight in sorted(self.pending.values(), key=lambda f: f.id):
            if on and flight.status is MessageStatus.IN_FLIGHT:
                flight.status, flight.deliver_at = MessageStatus.HELD, None
                changed += 1
            elif not on and flight.status is MessageStatus.HELD:
                self._launch(flight, now)
                changed += 1
        return changed

    # -- partitions --

    def cut_note(self, msg: Message) -> str:
        return f"link {msg.frm}→{msg.to} is cut"

    def is_cut(self, msg: Message) -> bool:
        return (msg.frm, msg.to) in self.cuts


def describe_links(links: set[tuple[int, int]] | tuple[tuple[int, int], ...]) -> str:
    """`1↔2, 3→1`: both directions collapse into one two-headed arrow."""
    links = set(links)
    parts = []
    for a, b in sorted(links):
        if (b, a) in links:
            if a < b:
                parts.append(f"{a}↔{b}")
        else:
            parts.append(f"{a}→{b}")
    return ", ".join(parts)
