"""Runs of many seeds in a row, and how a failing run is reported.

`run_seeds` runs seeds S..S+N-1 and folds every run's trace digest, in seed order, into
one short hash: the same arguments always give the same hash, so a change in behaviour
shows even when nothing fails. `format_report` is the text a violation is shown with:
the seed and its parameters, the invariant, the last events, and the one command that
reproduces it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Callable

from .params import TICK, derive_params
from .world import RunResult, run_world

# The planted bug (`unsafe_commit_old_terms`) only does harm in a Figure-8 history: a
# leader commits an older-term entry by counting, then a node holding a newer-term entry
# at that index wins an election. These settings make such histories common: appends
# carry one entry each (so an old entry can reach a quorum before the new term's own),
# elections are frequent and unguarded, leaders crash often and messages get lost.
PLANTED_BUG = {
    "unsafe_commit_old_terms": True,
    "pre_vote": False, "check_quorum": False, "election_tick": 4, "heartbeat_tick": 1,
    "max_size_per_msg": 1, "max_inflight_msgs": 4, "drop_rate": 0.25,
    "latency_lo": 5, "latency_span": 60,
    "fault_weights": (("crash", 3), ("isolate", 3)), "leader_bias": 0.9, "max_downtime": 8,
    "nemesis_lo": 3 * TICK // 2, "nemesis_span": 5 * TICK, "fault_ticks": 1200,
    "clients": 4, "think_lo": 5, "think_span": 20, "read_ratio": 0.0,
}


@dataclass
class CampaignResult:
    seeds: int = 0
    events: int = 0
    failures: list[RunResult] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)

    @property
    def trace(self) -> str:
        h = hashlib.blake2b(digest_size=8)
        for d in self.digests:
            h.update(d.encode())
        return h.hexdigest()


def run_seed(seed: int, nodes: int, planted_bug: bool = False, **overrides) -> RunResult:
    pinned = dict(PLANTED_BUG) if planted_bug else {}
    pinned.update(overrides)
    return run_world(derive_params(seed, nodes, **pinned))


def run_seeds(start: int, count: int, nodes: int, planted_bug: bool = False,
              on_result: Callable[[RunResult], None] | None = None,
              **overrides) -> CampaignResult:
    out = CampaignResult()
    for seed in range(start, start + count):
        result = run_seed(seed, nodes, planted_bug, **overrides)
        out.seeds += 1
        out.events += result.events
        out.digests.append(result.trace)
        if result.violation is not None:
            out.failures.append(result)
        if on_result is not None:
            on_result(result)
    return out


def repro_command(seed: int, nodes: int, planted_bug: bool = False) -> str:
    extra = " --planted-bug" if planted_bug else ""
    return f"raftviz check --seeds 1 --start-seed {seed} --nodes {nodes}{extra}"


def ui_command(seed: int, nodes: int, event: int, planted_bug: bool = False) -> str:
    """The UI on this very run, opened at the event where the invariant broke."""
    extra = " --planted-bug" if planted_bug else ""
    return f"raftviz --sim --check-seed {seed} --nodes {nodes} --at {event}{extra}"


def format_report(result: RunResult) -> str:
    v = result.violation
    assert v is not None
    p = result.params
    lines = [
        f"VIOLATION seed {p.seed}: {v.invariant} at t={v.time} (tick {v.time // TICK})",
        f"  {v.detail}",
        f"  parameters: {p.describe()}",
        f"  last {len(v.recent)} events:",
    ]
    lines += [f"    {line}" for line in v.recent]
    lines.append(f"  reproduce: {repro_command(p.seed, p.nodes, p.unsafe_commit_old_terms)}")
    # The world stops at the event that broke the invariant, so the count is that event.
    lines.append("  open it in the UI: "
                 f"{ui_command(p.seed, p.nodes, result.events, p.unsafe_commit_old_terms)}")
    return "\n".join(lines)
