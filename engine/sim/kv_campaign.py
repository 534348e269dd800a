"""Keyspace runs over many seeds: run, verify, fold into one trace hash, report.

`run_kv_seed` runs one seed in `KVWorld` and checks it (kv_verify.py); `run_kv_seeds`
runs S..S+N-1 and folds every run's digest, in order, into one short hash. A run's digest
covers the Raft trace, every operation of the history with its answer, and the findings,
so any change of behaviour shows. `format_kv_report` prints what a violation needs: the
seed, its parameters, each checker's finding with its counterexample, and the command
that reproduces it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from typing import Callable

from engine.check import Finding, Verdicts, describe_op, format_finding

from .kv_params import BUG_SETTINGS, KVParams, PlantedBug, derive_kv_params
from .kv_verify import verify
from .kv_workload import show_stamp
from .kv_world import KVWorld
from .params import TICK, SimParams, derive_params
from .campaign import CampaignResult
from .world import RunResult

SHOWN_PER_CHECKER = 2        # findings of one checker printed per report

@dataclass(frozen=True, slots=True)
class KVRunResult:
    run: RunResult
    kv: KVParams
    verdicts: Verdicts
    operations: int
    trace: str
    stats: dict[str, int] = field(default_factory=dict)   # what the run exercised

    @property
    def findings(self) -> list[Finding]:
        v = self.run.violation
        raft = [Finding(f"raft {v.invariant}", f"{v.detail} (t={v.time})", v.recent)] if v else []
        return raft + self.verdicts.findings

    @property
    def checkers(self) -> list[str]:
        """The checkers that failed, each once: one violation each."""
        return list(dict.fromkeys(f.checker for f in self.findings))


@dataclass
class KVCampaignResult(CampaignResult):
    """The raft campaign's tally (seeds, events, failures, trace) plus the checkers'."""
    histories: int = 0
    undecided: int = 0      # histories the search gave up on: neither passed nor failed
    violations: int = 0


def kv_params(seed: int, nodes: int, bug: PlantedBug | None = None,
              profile: PlantedBug | None = None, **overrides) -> tuple[SimParams, KVParams]:
    """The parameters of run `seed`: `bug` on (if any), with the faults and workload of
    `profile` (default: the bug's own), and `overrides` pinned."""
    profile = profile or bug
    pinned = dict(BUG_SETTINGS[profile]) if profile is not None else {}
    if bug is not PlantedBug.COMMIT_OLD_TERMS:
        pinned["unsafe_commit_old_terms"] = False
    pinned.update(overrides)
    params = derive_params(seed, nodes, **pinned)
    kvp = derive_kv_params(seed, bug, profile)
    if "clients" not in pinned:
        params = dataclasses.replace(params, clients=kvp.clients)
    if kvp.disk_scale > 1 and "disk_lo" not in pinned:
        params = dataclasses.replace(params, disk_lo=params.disk_lo * kvp.disk_scale,
                                     disk_span=params.disk_span * kvp.disk_scale)
    return params, kvp


def run_kv_seed(seed: int, nodes: int, bug: PlantedBug | None = None,
                profile: PlantedBug | None = None, **overrides) -> KVRunResult:
    params, kvp = kv_params(seed, nodes, bug, profile, **overrides)
    world = KVWorld(params, kvp)
    run = world.run()
    verdicts = verify(world)
    ops = world.workload.history.operations()
    h = hashlib.blake2b(digest_size=16)
    h.update(run.trace.encode())
    for op in ops:
        h.update(describe_op(op).encode())
    for f in verdicts.findings:
        h.update(format_finding(f).encode())
    return KVRunResult(run, kvp, verdicts, len(ops), h.hexdigest(), run_stats(world))


def run_stats(world: KVWorld) -> dict[str, int]:
    streams = [s for c in world.workload.clients for s in getattr(c, "streams", ())]
    return {"torn writes": world.torn_writes, "snapshots sent": world.snapshots_sent,
            "watch streams": len(streams),
            "watch replies": sum(len(s.replies) for s in streams)}


def run_kv_seeds(start: int, count: int, nodes: int, bug: PlantedBug | None = None,
                 on_result: Callable[[KVRunResult], None] | None = None,
                 profile: PlantedBug | None = None, **overrides) -> KVCampaignResult:
    out = KVCampaignResult()
    for seed in range(start, start + count):
        result = run_kv_seed(seed, nodes, bug, profile, **overrides)
        out.seeds += 1
        out.events += result.run.events
        out.histories += result.verdicts.histories
        out.undecided += len(result.verdicts.undecided)
        out.digests.append(result.trace)
        if result.findings:
            out.violations += len(result.checkers)
            out.failures.append(result)
        if on_result is not None:
            on_result(result)
    return out


def kv_repro_command(seed: int, nodes: int, bug: PlantedBug | None = None) -> str:
    extra = f" --planted-bug {bug.value}" if bug is not None else ""
    return f"raftviz check --workload kv --seeds 1 --start-seed {seed} --nodes {nodes}{extra}"


def format_kv_report(result: KVRunResult) -> str:
    p = result.run.params
    lines = [f"VIOLATION seed {p.seed}: {', '.join(result.checkers)}",
             f"  parameters: {p.describe()}",
             f"  keyspace: {result.kv.describe()}; {result.operations} operations, "
             f"run ended at t={result.run.end_time} (tick {result.run.end_time // TICK})"]
    for checker in result.checkers:
        found = [f for f in result.findings if f.checker == checker]
        lines += [format_finding(f) for f in found[:SHOWN_PER_CHECKER]]
        if len(found) > SHOWN_PER_CHECKER:
            lines.append(f"  {checker}: ... and {len(found) - SHOWN_PER_CHECKER} more")
    lines.append(f"  reproduce: {kv_repro_command(p.seed, p.nodes, result.kv.bug)}")
    return "\n".join(lines)


def describe_kv_ok(result: KVRunResult) -> str:
    undecided = "".join(f"\n  undecided: {u}" for u in result.verdicts.undecided)
    stats = ", ".join(f"{n} {k}" for k, n in result.stats.items())
    return (f"{result.run.params.describe()}\n  keyspace: {result.kv.describe()}\n  ok: "
            f"{result.run.events} events, {result.operations} operations, "
            f"{result.verdicts.histories} histories checked, {stats}, trace "
            f"{result.trace[:16]}{undecided}")


__all__ = ["KVCampaignResult", "KVRunResult", "describe_kv_ok", "format_kv_report",
           "kv_params", "kv_repro_command", "run_kv_seed", "run_kv_seeds", "show_stamp"]
