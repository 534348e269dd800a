"""`raftviz bench kv`: the keyspace's speed alone, and the disk's, measured in one run.

Puts and single-key ranges per second on an in-memory KVStore; watch fan-out (events
delivered per second to W watchers of every key); puts per second with the SQLite backend
committing after every batch; and WAL entries per second with group commit (a batch of
entries per fsync) against one entry per fsync on the same disk. History is compacted
every COMPACT_EVERY puts, as a member's auto-compaction would: the compaction itself is
left out of the timing, the backend's deletes of the compacted rows are not.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.kv import CompactionRequest, KVStore, PutRequest, RangeRequest
from engine.raft.types import Entry, HardState
from engine.runtime.backend import Backend
from engine.runtime.errors import StorageError
from engine.runtime.wal import WAL

TARGET_PUTS = 50_000
TARGET_GROUP_RATIO = 5.0
COMPACT_EVERY = 100_000
CHUNK = 256               # operations between clock reads


def register(targets) -> None:
    p = targets.add_parser("kv", help="puts, ranges and watch fan-out of the keyspace;"
                           " WAL group commit against raw fsync",
                           description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=_positive(float), default=3.0,
                   help="wall time per measurement (default 3; six measurements)")
    p.add_argument("--keys", type=_positive(int), default=10_000)
    p.add_argument("--value-size", type=_positive(int), default=64)
    p.add_argument("--watchers", type=_positive(int), default=32)
    p.add_argument("--batch", type=_positive(int), default=64,
                   help="entries per backend commit and per WAL fsync (default 64)")
    p.add_argument("--dir", default=".",
                   help="where the backend and WAL files go: the disk being measured")
    p.add_argument("--profile", action="store_true",
                   help="also print a cProfile of in-memory puts")
    p.set_defaults(run=run)


def _positive(kind: type) -> Callable[[str], float]:
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not 0 < value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


@dataclass(frozen=True)
class Measurement:
    name: str
    count: int
    seconds: float
    unit: str
    note: str = ""        # shown instead of a ratio

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


def run(args: argparse.Namespace) -> int:
    try:
        workdir = tempfile.mkdtemp(prefix=".raftviz-bench-", dir=args.dir)
    except OSError as e:
        print(f"raftviz bench kv: --dir {args.dir}: {e.strerror}", file=sys.stderr)
        return 1
    print(f"raftviz bench kv: {args.seconds:g} s per measurement, {args.keys} keys,"
          f" {args.value_size}-byte values, {args.watchers} watchers, batches of"
          f" {args.batch}; files in {os.path.abspath(args.dir)}\n", flush=True)
    try:
        results = measure_all(args, workdir)
    except (OSError, StorageError) as e:
        print(f"raftviz bench kv: {e}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(render(results, args))
    if args.profile:
        print(profile_puts(args))
    return 0


def measure_all(args: argparse.Namespace, workdir: str) -> dict[str, Measurement]:
    s, batch = args.seconds, args.batch
    steps = [
        ("put", lambda: measure_puts(s, args.keys, args.value_size)),
        ("put+backend", lambda: measure_backend_puts(s, args.keys, args.value_size, batch,
                                                     os.path.join(workdir, "db"))),
        ("range", lambda: measure_ranges(s, args.keys, args.value_size)),
        ("watch", lambda: measure_watch(s, args.keys, args.value_size, args.watchers,
                                        batch)),
        ("wal-1", lambda: measure_wal(s, 1, args.value_size, os.path.join(workdir, "w1"))),
        ("wal-n", lambda: measure_wal(s, batch, args.value_size,
                                      os.path.join(workdir, "wn"))),
    ]
    return {key: step() for key, step in steps}


# --- the keyspace ----------------------------------------------------------------------------

def put_requests(keys: int, value_size: int) -> list[PutRequest]:
    value = b"v" * value_size
    return [PutRequest(b"bench/%08d" % n, value) for n in range(keys)]


class Clock:
    """Wall time spent in the measured code only (compactions are left out)."""

    def __init__(self, seconds: float) -> None:
        self.budget, self.spent, self._start = seconds, 0.0, 0.0

    def start(self) -> None:
        self._start = time.perf_counter()

    def stop(self) -> bool:
        """Stop the clock; True while there is budget left."""
        self.spent += time.perf_counter() - self._start
        return self.spent < self.budget


def measure_puts(seconds: float, keys: int, value_size: int) -> Measurement:
    kv, requests, clock, index = KVStore(), put_requests(keys, value_size), Clock(seconds), 0
    while True:
        clock.start()
        for _ in range(CHUNK):
            index += 1
            kv.apply(requests[index % keys], index=index)
        if not clock.stop():
            return Measurement("put, in memory", index, clock.spent, "puts")
        index = maybe_compact(kv, index)


def maybe_compact(kv: KVStore, index: int) -> int:
    if index % COMPACT_EVERY < CHUNK and kv.current_revision > 2:
        index += 1
        kv.apply(CompactionRequest(kv.current_revision - 1), index=index)
    return index


def measure_backend_puts(seconds: float, keys: int, value_size: int, batch: int,
                         path: str) -> Measurement:
    kv, requests, clock = KVStore(), put_requests(keys, value_size), Clock(seconds)
    backend, index, puts = Backend.open(path), 0, 0
    try:
        while True:
            clock.start()
            for _ in range(batch):
                index += 1
                kv.apply(requests[index % keys], index=index)
            backend.commit(kv, b"")
            puts += batch
            if not clock.stop():
                return Measurement(f"put + backend commit per {batch}", puts, clock.spent,
                                   "puts")
            index = maybe_compact(kv, index)
    finally:
        backend.close()


def measure_ranges(seconds: float, keys: int, value_size: int) -> Measurement:
    kv = KVStore()
    for index, request in enumerate(put_requests(keys, value_size), 1):
        kv.apply(request, index=index)
    gets = [RangeRequest(b"bench/%08d" % ((n * 7919) % keys)) for n in range(keys)]
    clock, done = Clock(seconds), 0
    while True:
        clock.start()
        for n in range(done, done + CHUNK):
            kv.range(gets[n % keys])
        done += CHUNK
        if not clock.stop():
            return Measurement("range, one key, in memory", done, clock.spent, "ranges")


def measure_watch(seconds: float, keys: int, value_size: int, watchers: int,
                  batch: int) -> Measurement:
    """Every watcher watches every key; each batch of puts is delivered before the next."""
    kv, requests, clock = KVStore(), put_requests(keys, value_size), Clock(seconds)
    for _ in range(watchers):
        kv.watch(b"bench/", b"bench0")
    index = events = 0
    while True:
        clock.start()
        for _ in range(batch):
            index += 1
            kv.apply(requests[index % keys], index=index)
        for responses in kv.drain_responses().values():
            events += sum(len(r.events) for r in responses)
        if not clock.stop():
            note = (f"{events / index:.0f} events per put,"
                    f" {index / clock.spent:,.0f} puts/s")
            return Measurement(f"watch fan-out, {watchers} watchers", events, clock.spent,
                               "events", note)


# --- the disk --------------------------------------------------------------------------------

def measure_wal(seconds: float, per_fsync: int, value_size: int,
                path: str) -> Measurement:
    wal, clock, index = WAL.create(path, cluster_id=1), Clock(seconds), 0
    data = b"e" * (value_size + 32)
    try:
        clock.start()
        while True:
            entries = [Entry(1, index + n + 1, data=data) for n in range(per_fsync)]
            index += per_fsync
            wal.save(HardState(1, 0, index), entries, sync=True)
            if not clock.stop():
                name = ("WAL, one entry per fsync" if per_fsync == 1 else
                        f"WAL, group commit of {per_fsync} per fsync")
                return Measurement(name, index, clock.spent, "entries")
            clock.start()
    finally:
        wal.close()


# --- the report ------------------------------------------------------------------------------

def render(results: dict[str, Measurement], args: argparse.Namespace) -> str:
    put, wal1 = results["put"].rate, results["wal-1"].rate
    ratios = {
        "put": "baseline", "range": f"{_ratio(results['range'].rate, put)} of put",
        "put+backend": f"{_ratio(results['put+backend'].rate, put)} of put",
        "watch": results["watch"].note,
        "wal-1": "baseline", "wal-n": f"{_ratio(results['wal-n'].rate, wal1)} of 1/fsync",
    }
    head = f"{'measurement':<38} {'count':>10} {'seconds':>8} {'per second':>19}  ratio"
    lines = [head, "-" * len(head)]
    for key, m in results.items():
        lines.append(f"{m.name:<38} {m.count:>10,} {m.seconds:>8.2f}"
                     f" {m.rate:>11,.0f} {m.unit:<7}  {ratios[key]}")
    lines += ["", *targets(results)]
    return "\n".join(lines)


def _ratio(value: float, base: float) -> str:
    return f"{value / base:.2f}x" if base else "-"


def targets(results: dict[str, Measurement]) -> list[str]:
    put = results["put"].rate
    group = results["wal-n"].rate / results["wal-1"].rate if results["wal-1"].rate else 0
    return [
        f"target: in-memory puts >= {TARGET_PUTS:,}/s: {put:,.0f}/s"
        f" ({'met' if put >= TARGET_PUTS else 'missed'})",
        f"target: WAL group commit >= {TARGET_GROUP_RATIO:g}x one entry per fsync:"
        f" {group:.1f}x ({'met' if group >= TARGET_GROUP_RATIO else 'missed'})",
    ]


def profile_puts(args: argparse.Namespace) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    measure_puts(min(args.seconds, 2.0), args.keys, args.value_size)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    return "cProfile of in-memory puts (top 15 by own time):\n" + out.getvalue()
