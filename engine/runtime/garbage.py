"""A member's history, kept out of the cycle collector's full collections.

A member's heap is mostly its history: Raft log entries, MVCC records and key-values, the
key index. They live until a snapshot compacts the log or a compaction drops revisions,
and none of them is part of a reference cycle. Python's full collections scan every
tracked object anyway, on the loop's thread: at 100,000 entries each took about 250 ms,
one every 6 to 10 s under load, longer as the history grew (and ~470 ms when one fell
during a snapshot), and each found nothing. Every Raft message and client request in
flight waited behind them.

`keep_history_out_of_full_collections()` moves what survived each full collection out of
the collector's sight (`gc.freeze`), so the next one scans only what came since; objects
moved out are still freed as soon as nothing refers to them (a compacted log's entries).
The price: a cycle made only of objects that had already survived a full collection (a
client stream open for minutes, say) is never freed. Cycles that die before the next
full collection (tasks, exceptions, most requests) are collected as before.
"""

from __future__ import annotations

import gc


def _freeze_survivors(phase: str, info: dict) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def keep_history_out_of_full_collections() -> None:
    """For a process that runs a member (a whole-process setting); idempotent."""
    if _freeze_survivors not in gc.callbacks:
        gc.callbacks.append(_freeze_survivors)
