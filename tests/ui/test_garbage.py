"""The interface's garbage: Textual's strips never keep themselves alive once
keep_strips_acyclic() is installed, and the collector is tuned for the interface."""

from __future__ import annotations

import gc
import sys

from rich.segment import Segment
from textual.strip import Strip

from raftviz.ui import garbage


def drawn(text: str = "a line") -> Strip:
    return Strip([Segment(text)], len(text))


def references_kept(use) -> int:
    """How many more references to the strip there are after using it: a result that
    the strip keeps in its own cache is a reference cycle."""
    strip = drawn()
    before = sys.getrefcount(strip)
    use(strip)
    return sys.getrefcount(strip) - before


USES = (lambda s: s.divide([s.cell_length]),
        lambda s: s.crop_extend(0, s.cell_length, None),
        lambda s: s.adjust_cell_length(s.cell_length))


def test_a_strip_divided_cropped_or_adjusted_to_itself_does_not_keep_itself():
    garbage.keep_strips_acyclic()
    assert [references_kept(use) for use in USES] == [0, 0, 0]


def test_other_results_are_still_remembered_and_installing_twice_is_harmless():
    garbage.keep_strips_acyclic()
    garbage.keep_strips_acyclic()
    strip = drawn("abcdef")
    halves = strip.divide([3, 6])
    assert [s.text for s in halves] == ["abc", "def"]
    assert strip.divide([3, 6]) is halves
    assert strip.crop_extend(0, 8, None) is strip.crop_extend(0, 8, None)
    assert strip.divide([6])[0] is strip


def test_the_collector_is_tuned_for_short_lived_views():
    before = gc.get_threshold()
    try:
        garbage.tune_collector()
        assert gc.get_threshold() == garbage.THRESHOLDS
    finally:
        gc.set_threshold(*before)
