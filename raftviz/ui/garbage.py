"""The interface's garbage, kept off the cycle collector's plate.

Under a busy cluster, Python's cycle collector was the interface's slowest moment: full
collections of 90-120 ms of CPU about every three seconds, and the slowest writes to
reach the screen were those caught behind one. Two things made it so:

- Textual's strips (textual.strip, 8.x) remember the results of their own crops and
  divisions, and when the result is the strip itself (a line divided at its own end,
  cropped to its own length) the strip holds a reference to itself. Nearly every line
  the compositor draws takes that path, so nearly every discarded line was cyclic
  garbage. `keep_strips_acyclic()` wraps those methods to forget a result that is the
  strip itself; the caches still serve every other result.
- Snapshots, views and frames are short-lived containers made by the tens of thousands a
  second; the default thresholds promoted many before they died, and the promoted ones
  set off full collections. `tune_collector()` gives young objects room to die first.
"""

from __future__ import annotations

import functools
import gc

from textual.strip import Strip

_STRIP_CACHES = {"divide": "_divide_cache", "crop_extend": "_crop_extend_cache",
                 "adjust_cell_length": "_line_length_cache"}
THRESHOLDS = (25_000, 50, 20)   # young, middle, full: a full collection every few minutes


def _forgetting_self(method, cache: str):
    @functools.wraps(method)
    def wrapper(self: Strip, *args, **kwargs):
        result = method(self, *args, **kwargs)
        if result is self or (type(result) is list and len(result) == 1
                              and result[0] is self):
            getattr(self, cache).clear()
        return result
    wrapper.forgets_self = True
    return wrapper


def keep_strips_acyclic() -> None:
    """Wrap the methods once; a Textual without them (or these caches) is left alone."""
    probe = Strip([])
    for name, cache in _STRIP_CACHES.items():
        method = getattr(Strip, name, None)
        if method is None or getattr(method, "forgets_self", False) or \
                not hasattr(probe, cache):
            continue
        setattr(Strip, name, _forgetting_self(method, cache))


def tune_collector() -> None:
    """For a process that runs the interface (a whole-process setting)."""
    gc.set_threshold(*THRESHOLDS)
