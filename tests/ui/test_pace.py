"""Pacing drawings: a flood told from a jump, and a paced drawing never lost. Time is a
clock the test moves; the timer, a list of what was arranged."""

from __future__ import annotations

from raftviz.ui.pace import Flood, Pacer
from raftviz.ui.widgets.logs import FLOOD_HZ, FLOOD_ROWS, FLOOD_VIEWS, LogGrid

from .test_ui_data_views import long_log
from .ui_helpers import drive, view


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.arranged: list[tuple[float, object]] = []     # (when, call)

    def __call__(self) -> float:
        return self.now

    def later(self, wait: float, call) -> None:
        self.arranged.append((self.now + wait, call))

    def run_due(self, until: float) -> None:
        """Move to `until`, calling what falls due on the way, in order."""
        while due := [a for a in self.arranged if a[0] <= until]:
            at, call = min(due, key=lambda a: a[0])
            self.arranged.remove((at, call))
            self.now = at
            call()
        self.now = until


def pacer(hz: float = 10.0) -> tuple[Pacer, Clock, list[float]]:
    clock, drawn = Clock(), []
    paced = Pacer(lambda: drawn.append(clock.now), hz, clock=clock, later=clock.later)
    return paced, clock, drawn


def test_a_flood_is_a_flow_of_views_each_bringing_rows_not_one_jump():
    flood = Flood(rows=5, views=3)
    assert [flood.note(n) for n in (10, 1_000_000, 1_000_001, 1_000_002)] == [False] * 4
    assert [flood.note(n) for n in (1_000_007, 1_000_012)] == [False, False]
    assert flood.note(1_000_017)                     # three moves of five in a row
    assert flood.note(1_000_040)
    assert flood.note(1_000_040)                     # a view of the same end (another
    assert flood.note(1_000_040)                     # member's report) does not end it
    assert not flood.note(1_000_041)                 # a slower view ends it at once
    assert not flood.note(1_000_041 + 5)


def test_outside_a_flood_every_change_is_drawn_at_once():
    paced, clock, drawn = pacer()
    for _ in range(5):
        paced.offer(flooding=False)
        clock.now += 0.001
    assert len(drawn) == 5 and not clock.arranged


def test_a_flood_is_drawn_at_the_pace_and_its_last_change_is_never_left_undrawn():
    paced, clock, drawn = pacer(hz=10)
    start = clock.now
    for _ in range(30):                 # a view every 30 ms for 0.9 s
        paced.offer(flooding=True)
        clock.run_due(clock.now + 0.03)
    clock.run_due(clock.now + 1.0)      # the flood stops: what it brought last is drawn
    assert drawn[0] == start            # the first, at once
    gaps = [b - a for a, b in zip(drawn, drawn[1:])]
    assert all(gap >= 0.1 - 1e-9 for gap in gaps)
    assert 9 <= len(drawn) <= 11         # 10 a second over 0.9 s, and the last one
    assert drawn[-1] <= start + 0.9 + 0.1


def test_a_change_outside_a_flood_takes_the_place_of_the_one_held_back():
    paced, clock, drawn = pacer(hz=10)
    paced.offer(flooding=True)
    clock.now += 0.02
    paced.offer(flooding=True)            # held back, its drawing arranged
    assert len(drawn) == 1 and len(clock.arranged) == 1
    clock.now += 0.02
    paced.offer(flooding=False)           # drawn at once, with the held-back change
    clock.run_due(clock.now + 1.0)
    assert len(drawn) == 2                # the arranged drawing finds nothing owed


def flowing(shown, last: int):
    """`shown` with every log ending at `last`, 40 entries long."""
    return long_log(shown, last - 39, 40)


def test_the_log_grid_shows_a_jump_at_once_and_a_flood_at_its_pace():
    async def scenario(app, pilot):
        grid = app.query_one(LogGrid)
        clock = Clock()
        grid.flood = Flood(FLOOD_ROWS, FLOOD_VIEWS)
        grid.pacer.clock, grid.pacer.later = clock, clock.later
        base = view(app)

        def shows(last: int) -> bool:
            return grid.keys[-1] == str(last)

        def arrive(last: int) -> None:            # a view, 10 ms after the one before
            clock.now += 0.01
            grid.cluster = flowing(base, last)

        arrive(1_000)
        arrive(123_456)                           # a jump, soon after: drawn at once
        assert shows(123_456)
        arrive(123_456 + FLOOD_ROWS)              # the flow's first view: at once
        assert shows(123_456 + FLOOD_ROWS)
        flow = [123_456 + n * FLOOD_ROWS for n in range(2, 5)]
        for last in flow:                         # a flood: held back, drawn once due
            arrive(last)
        assert shows(123_456 + FLOOD_ROWS) and len(clock.arranged) == 1
        clock.run_due(clock.now + 1 / FLOOD_HZ)
        assert shows(flow[-1])
        arrive(flow[-1] + 1)                      # a slow view: at once again
        assert shows(flow[-1] + 1)
    drive(scenario, size=(120, 30))
