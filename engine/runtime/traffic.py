"""A member's recent Raft traffic: the messages its fault gate let out or dropped.

The control service reports the last few with every snapshot, so the interface's
timeline shows a live cluster's heartbeats, appends and votes as they go, not only the
messages a user holds. Each message is numbered: a reader that sees the count jump by
more than the messages it was shown knows how many it missed (at a thousand writes a
second a member sends thousands of messages; the interface shows a sample of them).
Held messages are not recorded here: the gate reports them while they wait.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Callable, NamedTuple

from engine.raft import Message

TRAFFIC_KEPT = 16


class Sent(NamedTuple):   # a tuple: made for every message a member sends
    seq: int
    at_ms: int            # the member's wall clock, milliseconds since the epoch
    message: Message
    dropped: str          # why the gate dropped it; "" when it was sent


class Traffic:
    def __init__(self, kept: int = TRAFFIC_KEPT,
                 clock: Callable[[], float] = time.time) -> None:
        self.count = 0
        self.recent: deque[Sent] = deque(maxlen=kept)
        self.clock = clock

    def note(self, m: Message, dropped: str = "") -> None:
        self.count += 1
        self.recent.append(Sent(self.count, round(self.clock() * 1000), m, dropped))

    def report(self) -> dict:
        """The count so far and the recent messages, JSON-able, without their entries'
        data: a batch of appends can carry hundreds of entries."""
        return {"count": self.count, "recent": [sent_view(s) for s in self.recent]}


def sent_view(s: Sent) -> dict:
    m = s.message
    view = {"seq": s.seq, "at": s.at_ms, "type": m.type.value, "from": m.frm, "to": m.to,
            "term": m.term, "log_term": m.log_term, "index": m.index, "commit": m.commit,
            "reject": m.reject, "entries": len(m.entries), "dropped": s.dropped}
    if m.entries:
        first, last = m.entries[0], m.entries[-1]
        view["first"], view["last"] = [first.term, first.index], [last.term, last.index]
    return view
