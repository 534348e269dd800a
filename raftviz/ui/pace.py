"""Pacing a widget's drawings: at once, or at most so many a second while a flood lasts.

A live cluster taking a thousand writes a second brings dozens of new log entries in
every view; drawn 30 times a second they scroll by a screenful each time, faster than
anyone can read, and drawing them took two fifths of the interface's CPU. `Flood` tells
a flood from a single jump (a snapshot, a restart); `Pacer` lets a drawing through at
once when none is due, holds it back while a flood lasts until its pace allows, and
never leaves the last one undrawn.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Callable

Later = Callable[[float, Callable[[], None]], object]


def asyncio_later(wait: float, call: Callable[[], None]) -> object:
    """`call` in `wait` seconds, on asyncio's call_later rather than a Textual timer: a
    one-shot Timer that first reads the clock after its deadline (a thread held the GIL
    meanwhile) skips its only tick, and what it was to draw never comes."""
    return asyncio.get_running_loop().call_later(wait, call)


class Flood:
    """Whether a stream of views has brought at least `rows` new rows in each of the
    last `views` of them that moved at all: a flow, not one jump. (A view that brings
    no rows, such as another member's report, neither counts nor breaks the flow.)"""

    def __init__(self, rows: int, views: int) -> None:
        self.rows = rows
        self.moves: deque[int] = deque(maxlen=views)
        self.last: int | None = None

    def note(self, last_row: int) -> bool:
        """Take the newest view's last row (its log's last index, say); flooding now?"""
        if self.last is not None and last_row != self.last:
            self.moves.append(last_row - self.last)
        self.last = last_row
        return len(self.moves) == self.moves.maxlen and min(self.moves) >= self.rows


class Pacer:
    """Calls `draw` when offered a change: at once, or, while flooding and the last
    drawing was under 1/hz ago, once that much time has passed (one call for all the
    changes offered meanwhile)."""

    def __init__(self, draw: Callable[[], None], hz: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 later: Later = asyncio_later) -> None:
        self.draw, self.period, self.clock, self.later = draw, 1 / hz, clock, later
        self.drawn_at = float("-inf")
        self.owed = False        # a change held back, its drawing arranged

    def offer(self, flooding: bool) -> None:
        wait = self.drawn_at + self.period - self.clock()
        if not flooding or wait <= 0:
            self._draw()
        elif not self.owed:
            self.owed = True
            self.later(wait, self._due)

    def _due(self) -> None:
        if self.owed:            # not drawn meanwhile by a change offered outside a flood
            self._draw()

    def _draw(self) -> None:
        self.owed, self.drawn_at = False, self.clock()
        self.draw()
