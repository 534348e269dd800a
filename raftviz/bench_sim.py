"""`raftviz bench sim`: how fast the deterministic simulator runs, on one core.

Two tables: events per second by cluster size (the `raftviz check` workload with its
faults, seed after seed), and events per second as the log grows (one long fault-free
5-node run without snapshots, measured window by window). Every figure is wall time over
simulated events, so it includes the Raft core, the network, the checker and the trace.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time

from engine.sim.campaign import run_seed
from engine.sim.params import TICK, derive_params
from engine.sim.world import World

from .argtypes import positive_float

SIZES = (1, 3, 5, 7, 9)
TARGET_5_NODES = 50_000


def register(targets) -> None:
    p = targets.add_parser("sim", help="events per second of the deterministic simulator",
                           description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=positive_float(), default=5.0,
                   help="wall time per measurement (default 5; the run takes ~7x this)")
    p.add_argument("--profile", action="store_true",
                   help="also print a cProfile of 5-node runs (slower)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(f"{'nodes':>5}  {'seeds':>5}  {'events':>9}  {'events/s':>9}  violations")
    rates = {}
    for nodes in SIZES:
        seeds, events, violations, elapsed = measure_size(nodes, args.seconds)
        rates[nodes] = events / elapsed
        print(f"{nodes:>5}  {seeds:>5}  {events:>9}  {rates[nodes]:>9.0f}  {violations}",
              flush=True)
    print()
    print(f"{'log length':>10}  {'events':>9}  {'events/s':>9}   "
          "(5 nodes, no faults, no snapshots)")
    for length, events, rate in measure_log_growth(args.seconds * 2):
        print(f"{length:>10}  {events:>9}  {rate:>9.0f}", flush=True)
    verdict = "meets" if rates[5] >= TARGET_5_NODES else "misses"
    print(f"\n5 nodes: {rates[5]:.0f} events/s ({verdict} the {TARGET_5_NODES} target)")
    if args.profile:
        print(profile_five_nodes(args.seconds))
    return 0


def measure_size(nodes: int, seconds: float) -> tuple[int, int, int, float]:
    """Run seeds 1, 2, ... for about `seconds`: (seeds, events, violations, elapsed)."""
    started = time.perf_counter()
    seeds = events = violations = 0
    while True:
        result = run_seed(seeds + 1, nodes)
        seeds += 1
        events += result.events
        violations += result.violation is not None
        elapsed = time.perf_counter() - started
        if elapsed >= seconds:
            return seeds, events, violations, elapsed


def measure_log_growth(seconds: float, window_ticks: int = 200):
    """Yield (log length, events, events/s) per window of a long quiet 5-node run."""
    params = derive_params(1, 5, fault_weights=(), drop_rate=0.0, dup_rate=0.0,
                           snapshot_count=0, fault_ticks=1_000_000, clients=8,
                           think_lo=1, think_span=10, read_ratio=0.1)
    world = World(params)
    started = time.perf_counter()
    until, next_report, deadline = 0, 1000, started + seconds
    events, window_start = 0, started
    while time.perf_counter() < deadline and not world.finished():
        until += window_ticks * TICK
        world.run(until)
        length = world.checker.committed_index
        if length >= next_report:
            now = time.perf_counter()
            yield length, world.events - events, (world.events - events) / (now - window_start)
            events, window_start = world.events, now
            next_report = length * 2


def profile_five_nodes(seconds: float) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    measure_size(5, seconds)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return out.getvalue()
