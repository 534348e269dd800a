"""`raftviz check`: run the deterministic simulator over many seeds and check Raft's safety
and liveness invariants (`--workload raft`, the default), or run the keyspace on every
member with clients whose histories go through the linearizability, watch, durability and
lease checkers (`--workload kv`). Reports (one per failing seed) and the final summary line
go to stdout; the progress bar goes to stderr, and only when stderr is a terminal.
"""

from __future__ import annotations

import argparse
import sys
import time

from engine.check import UNDECIDED_NOTE
from engine.sim.campaign import format_report, run_seeds
from engine.sim.kv_campaign import KVRunResult, describe_kv_ok, format_kv_report, run_kv_seeds
from engine.sim.kv_params import PlantedBug
from engine.sim.world import RunResult

from .argtypes import int_in_range


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "check", help="simulate the cluster under faults, seed by seed, checking invariants",
        description="Run seeds S..S+N-1 through the deterministic simulator. Every seed "
                    "derives all faults, timings and workload; the same arguments always "
                    "print the same trace hash.")
    p.add_argument("--seeds", type=int_in_range(1), default=100, metavar="N",
                   help="how many seeds to run (default 100)")
    p.add_argument("--nodes", type=int_in_range(1, 9), default=3, metavar="K",
                   help="cluster size, 1 to 9 (default 3)")
    p.add_argument("--start-seed", type=int_in_range(0), default=1,
                   metavar="S", help="first seed (default 1)")
    p.add_argument("--workload", choices=("raft", "kv"), default="raft",
                   help="raft: clients write raw entries, Raft's invariants are checked "
                        "(default); kv: the keyspace runs on every member and the clients' "
                        "histories are checked (linearizability, watches, durability, leases)")
    p.add_argument("--planted-bug", nargs="?", const=PlantedBug.COMMIT_OLD_TERMS.value,
                   type=planted_bug, metavar="BUG",
                   help="turn on a planted bug, with faults that expose it, to see the "
                        "checkers fail: commit-old-terms (the default; the only one for the "
                        "raft workload), stale-read, ack-before-fsync, watch-skip, "
                        "lease-not-extended")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every seed's parameters and outcome")
    p.set_defaults(run=run)


def planted_bug(text: str) -> PlantedBug:
    try:
        return PlantedBug.named(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    if args.workload == "kv":
        return run_kv(args)
    if args.planted_bug not in (None, PlantedBug.COMMIT_OLD_TERMS):
        print(f"raftviz: error: argument --planted-bug: the raft workload has only "
              f"{PlantedBug.COMMIT_OLD_TERMS.value}; use --workload kv", file=sys.stderr)
        return 2
    bar = ProgressBar(args.seeds, sys.stderr, args.start_seed)
    started = time.perf_counter()

    def on_result(result: RunResult) -> None:
        bar.clear()
        if result.violation is not None:
            print(format_report(result), flush=True)
        elif args.verbose:
            print(_describe_ok(result), flush=True)
        bar.advance()

    outcome = run_seeds(args.start_seed, args.seeds, args.nodes, args.planted_bug is not None,
                        on_result=on_result)
    bar.clear()
    elapsed = max(time.perf_counter() - started, 1e-9)
    print(f"{outcome.seeds} seeds, {len(outcome.failures)} violations, {outcome.events} "
          f"events, {outcome.events / elapsed:.0f} events/s, trace {outcome.trace}")
    return 1 if outcome.failures else 0


def run_kv(args: argparse.Namespace) -> int:
    bar = ProgressBar(args.seeds, sys.stderr, args.start_seed)

    def on_result(result: KVRunResult) -> None:
        bar.clear()
        if result.findings:
            print(format_kv_report(result), flush=True)
        elif args.verbose:
            print(describe_kv_ok(result), flush=True)
        bar.advance()

    outcome = run_kv_seeds(args.start_seed, args.seeds, args.nodes, args.planted_bug,
                           on_result=on_result)
    bar.clear()
    undecided = f" ({outcome.undecided} undecided)" if outcome.undecided else ""
    print(f"{outcome.seeds} seeds, {outcome.violations} violations, {outcome.histories} "
          f"histories checked{undecided}, {outcome.events} events, trace {outcome.trace}")
    if outcome.undecided:
        print(f"{UNDECIDED_NOTE} (-v names them)")
    return 1 if outcome.violations else 0


def _describe_ok(result: RunResult) -> str:
    return (f"{result.params.describe()}\n  ok: {result.events} events, {result.writes} "
            f"writes, {result.reads} reads, recovered {result.recovery_ticks} ticks after "
            f"healing, trace {result.trace[:16]}")


class ProgressBar:
    """`[#####.....] 12/100 seeds (seed 13)` redrawn in place on a terminal; silent otherwise."""

    WIDTH = 30

    def __init__(self, total: int, stream, first_seed: int = 1) -> None:
        self.total, self.done, self.stream = total, 0, stream
        self.first_seed = first_seed
        self.live = hasattr(stream, "isatty") and stream.isatty()
        self.draw()

    def draw(self) -> None:
        if self.live:
            filled = self.WIDTH * self.done // self.total
            bar = "#" * filled + "." * (self.WIDTH - filled)
            seed = self.first_seed + min(self.done, self.total - 1)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} seeds (seed {seed})")
            self.stream.flush()

    def advance(self) -> None:
        self.done += 1
        self.draw()

    def clear(self) -> None:
        if self.live:
            self.stream.write("\r" + " " * (self.WIDTH + 30) + "\r")
            self.stream.flush()
