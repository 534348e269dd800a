"""`raftviz bench ui`: how the Textual interface keeps up with a busy live cluster.

Owns one measurement run. A fresh local 3-member cluster is started the way
LiveBackend.start starts one (LocalCluster, same flags), and a LiveBackend is attached to
it only after the bare cluster was measured; the RaftvizApp runs headless in
`run_test()`, which composes every frame through Textual's real compositor, without a
terminal. In this order, each phase `--seconds` long:

1. closed-loop puts/s of the bare cluster (one `raftviz.bench_load` process); its keys
   are then deleted, so the keyspace table (the first 300 keys) holds the 50 below;
2. the app on the cluster tab while a writer process (raftviz.bench_writer) puts, open
   loop, `bench/k{i % 50}` = `{i}` at `--rate` writes/s over every endpoint: frames/s,
   the interface thread's CPU time per frame, writes/s sent and acknowledged; then the
   same on the messages tab (the timeline of the members' traffic);
3. the same on the keyspace tab, plus the commit-to-screen latency of every 10th write:
   from its Put response to the first frame showing that key with the write's revision
   as mod revision, or a later one (a later write hides the value but implies it; puts
   through different members may commit out of order, so revisions say what is newer);
4. closed-loop puts/s with the app running (on the cluster tab, where `raftviz` opens),
   then bare again; then, for reference, with a busy loop in a process of its own that
   burns as much CPU as the app's process just did, and bare again; then `--rounds` - 1
   more such rounds, the app attached afresh for each. On a small machine the bare
   figure alone moves by a fifth from one phase to the next, so each figure with the
   app (or the busy loop) is set against the mean of the bare phases either side of
   it, and the slowdown reported is the median over the rounds. The busy loop does
   nothing but take CPU: it tells how much of the app's slowdown any process taking
   that much CPU on this machine would cause.

A frame is one update the compositor composed for the terminal that changed what the
screen shows: the screen's update timer (Screen._on_timer_update -> _compositor_refresh
-> Compositor.render_update) hands a CompositorUpdate to App._display, which a counting
subclass wraps. Headless, Textual stops there; the subclass encodes the update as a
terminal would receive it (`render_segments`, under 1 ms a frame) and keeps it; after
the phase, the bench reads the keys and mod revisions in each one's text: what the
screen showed at that instant. An update that only repaints lines with the words they
already had is composed (and costs CPU) but shows nothing new: it is not counted as a
frame. An idle screen composes nothing. The closed loops keep nothing: there the
encoding alone stays, as a terminal's driver would do it.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc

from .bench_cluster import Figures, measure
from .bench_writer import KEYS
from .errors import error_line
from .live import LEADER_WAIT_S, LiveBackend
from .live_procs import LocalCluster

SCREEN = (160, 48)
SETTLE_S = 0.5           # the app's first paint, and the tab switch
WRITER_SLACK_S = 30.0    # the writer process's start and drain, beyond its seconds
TARGET_FPS = 20.0
TARGET_P99_MS = 100.0
TARGET_SLOWDOWN = 0.10
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
MOVE_TO = re.compile(r"\x1b\[(\d+);(\d+)H")
SHOWN = re.compile(r"bench/k(\d+) +\d+ +\d+ +(\d+) ")     # key, value, create, mod


class BenchError(Exception):
    """The measurement could not be made; the text says why, in one line."""


def register(targets) -> None:
    p = targets.add_parser("ui", help="frames/s, commit-to-screen latency and the UI's cost "
                           "to a live cluster", description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=8.0, help="per phase (default 8)")
    p.add_argument("--rate", type=float, default=1000.0,
                   help="open-loop writes/s while the screen is measured (default 1000)")
    p.add_argument("--concurrency", type=int, default=64,
                   help="puts in flight in the closed-loop load (default 64)")
    p.add_argument("--rounds", type=int, default=3,
                   help="closed-loop phases with the app, each between two without "
                        "(default 3)")
    p.set_defaults(run=run)


# --- the screen -------------------------------------------------------------------------


class ScreenLines:
    """The words on each piece of each line of the screen, to tell an update that changed
    them from one that repainted them as they were. Read from the update as sent to the
    terminal: each piece is a cursor move to its place, then its segments."""

    def __init__(self) -> None:
        self.words: dict[tuple[int, int], str] = {}

    def changed_by(self, text: str, layout: bool = False) -> bool:
        if layout:
            self.words.clear()                 # a whole new layout
            return True
        changed = False
        parts = MOVE_TO.split(text)            # before the first move, then y, x, piece...
        for i in range(1, len(parts) - 2, 3):
            place = (int(parts[i]), int(parts[i + 1]))
            words = ANSI.sub("", parts[i + 2]).rstrip("\n")     # a line's end: no word
            if self.words.get(place) != words:
                self.words[place] = words
                changed = True
        return changed


@dataclass
class Frames:
    """Every update composed and which of them were frames: when, and at which mod
    revision it painted each bench key (per key, only the revisions that went up, with
    the first time each was seen). While a phase runs, the interface's thread only keeps
    each update; `settle()` tells frames from repaints and reads the keys afterwards, so
    the bench's own reading is not charged to the interface, nor delays its next frame."""
    times: list[float] = field(default_factory=list)  # every update composed
    cpu: list[float] = field(default_factory=list)     # the interface thread's, at each
    changed: list[float] = field(default_factory=list)  # the updates that were frames
    shown: dict[int, tuple[list[int], list[float]]] = field(default_factory=dict)
    counting: bool = True     # keep the updates (the open-loop phases)
    reading: bool = False     # and read the keys they show (the latency phase)
    lines: ScreenLines = field(default_factory=ScreenLines)
    # Each update as the terminal's text, one string: Textual's strips would be thousands
    # of objects a frame kept alive through the phase, for the cycle collector to walk.
    kept: list[tuple[float, str, bool, bool]] = field(default_factory=list)

    def add(self, at: float, text: str, layout: bool = False) -> None:
        self.times.append(at)
        self.cpu.append(time.thread_time())
        self.kept.append((at, text, layout, self.reading))

    def settle(self) -> None:
        """Take in the updates kept since the last call, in the order they came."""
        for at, text, layout, reading in self.kept:
            if self.lines.changed_by(text, layout):
                self.changed.append(at)
            if reading:
                self._read(at, text)
        self.kept.clear()

    def _read(self, at: float, text: str) -> None:
        for match in SHOWN.finditer(ANSI.sub("", text)):
            revisions, when = self.shown.setdefault(int(match[1]), ([], []))
            revision = int(match[2])
            if not revisions or revision > revisions[-1]:
                revisions.append(revision)
                when.append(at)

    def cpu_per_frame(self, start: float, end: float) -> float:
        """ms of the interface thread's CPU time per frame between two instants (the
        updates that were no frames cost CPU too: it is shared among the frames)."""
        lo, hi = bisect.bisect_left(self.times, start), bisect.bisect_right(self.times, end)
        frames = count(self.changed, start, end)
        if hi - lo < 2 or not frames:
            return float("nan")
        return 1000 * (self.cpu[hi - 1] - self.cpu[lo]) / frames

    def rate(self, start: float, end: float, times: list[float] | None = None) -> float:
        """Frames (or, given `self.times`, updates) per second between two instants."""
        n = count(self.changed if times is None else times, start, end)
        return n / (end - start) if end > start else 0.0

    def first_showing(self, key: int, revision: int) -> float | None:
        """When the screen first showed `key` at `revision` or a later one."""
        revisions, when = self.shown.get(key, ([], []))
        i = bisect.bisect_left(revisions, revision)
        return when[i] if i < len(revisions) else None


def count(times: list[float], start: float, end: float) -> int:
    return bisect.bisect_right(times, end) - bisect.bisect_left(times, start)


def counting_app(backend: LiveBackend, frames: Frames):
    # The interface first: it sets Textual's screen timer before Textual loads, as
    # `raftviz` does (Textual first would measure it at Textual's default 60 Hz).
    from .ui import app as ui_app     # Textual loads only when a screen is wanted
    from .ui.garbage import tune_collector
    from textual._compositor import ChopsUpdate, CompositorUpdate
    tune_collector()                  # as `raftviz` runs the interface
    RaftvizApp = ui_app.RaftvizApp

    class CountingApp(RaftvizApp):
        CSS_PATH = str(Path(ui_app.__file__).with_name(RaftvizApp.CSS_PATH))

        def _display(self, screen, renderable) -> None:
            if isinstance(renderable, CompositorUpdate):
                text = renderable.render_segments(self.console)   # as sent to a terminal
                if frames.counting:
                    frames.add(time.monotonic(), text,
                               layout=not isinstance(renderable, ChopsUpdate))
            super()._display(screen, renderable)

    return CountingApp(backend)


# --- the load ---------------------------------------------------------------------------


def closed_loop(urls: list[str], seconds: float, concurrency: int) -> Figures:
    figures = measure(urls, "put", argparse.Namespace(seconds=seconds, clients=1,
                                                      concurrency=concurrency))
    if not figures.rate:
        raise BenchError(f"the closed-loop load completed no puts ({figures.errors} errors)")
    return figures


def delete_bench_load_keys(urls: list[str]) -> None:
    """bench_load's keys (bench/<digits>) sort before bench/k*: drop them."""
    with grpc.insecure_channel(urls[0].split("://")[-1]) as channel:
        rpc_pb2_grpc.KVStub(channel).DeleteRange(
            rpc_pb2.DeleteRangeRequest(key=b"bench/", range_end=b"bench/k"), timeout=10)


# --- the run ----------------------------------------------------------------------------


@dataclass
class OpenLoop:
    fps: float               # frames: updates that changed what the screen shows
    updates: float           # every update composed, per second
    cpu_per_frame: float     # ms of the interface thread's CPU time per frame
    sent: float              # writes sent per second
    writes: float            # acknowledged per second
    errors: int              # failed or left unanswered


@dataclass
class Results:
    rate: float
    cluster_tab: OpenLoop
    messages_tab: OpenLoop
    keyspace_tab: OpenLoop
    latencies: list[float]         # ms, sorted
    sampled: int
    bare: list[Figures]            # closed loop without the app: 2 * rounds + 1 phases
    with_ui: list[Figures]         # closed loop with the app, each between two bare ones
    ui_cores: list[float]          # this process's CPU during each closed loop with the app
    frames: int                    # counted in the open-loop phases (and the first paint)
    busy: list[Figures]            # closed loop beside the busy loop, between two bare
    busy_cores: list[float]        # what each busy loop took

    def slowdowns(self, busy: bool = False) -> list[float]:
        """Each round's figure with the app (or beside the busy loop) against the mean
        of the bare phases either side of it: bare, app, bare, busy, bare, app, ..."""
        phases, first = (self.busy, 1) if busy else (self.with_ui, 0)
        return [1 - p.rate / ((self.bare[first + 2 * i].rate +
                               self.bare[first + 2 * i + 1].rate) / 2)
                for i, p in enumerate(phases)]

    def slowdown(self, busy: bool = False) -> float:
        ordered = sorted(self.slowdowns(busy))
        return ordered[len(ordered) // 2]


def run_writer(urls: list[str], rate: float, seconds: float) -> dict:
    """The open-loop writer (raftviz.bench_writer) as a process of its own; its report."""
    endpoints = ",".join(u.split("://")[-1] for u in urls)
    done = subprocess.run([sys.executable, "-m", "raftviz.bench_writer", "--endpoints",
                           endpoints, "--rate", str(rate), "--seconds", str(seconds)],
                          capture_output=True, text=True, timeout=seconds + WRITER_SLACK_S)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BenchError(f"the writer failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


async def open_loop(urls: list[str], frames: Frames, opts) -> tuple[OpenLoop, dict]:
    w = await asyncio.to_thread(run_writer, urls, opts.rate, opts.seconds)
    frames.settle()
    if not w["acks"]:
        raise BenchError(f"no write was answered ({', '.join(set(w['errors']))})")
    start, end = w["start_at"], w["start_at"] + opts.seconds
    achieved = len(w["acks"]) / (w["acks"][-1] - start) if w["acks"][-1] > start else 0.0
    return OpenLoop(frames.rate(start, end), frames.rate(start, end, frames.times),
                    frames.cpu_per_frame(start, end),
                    w["sent"] / opts.seconds, achieved,
                    len(w["errors"]) + w["unanswered"]), w


def latencies(frames: Frames, written: dict) -> list[float]:
    out = []
    for i, revision, answered in written["samples"]:
        shown = frames.first_showing(i % KEYS, revision)
        if shown is not None:
            out.append(max(0.0, shown - answered) * 1000)
    return sorted(out)


async def with_app(backend: LiveBackend, urls: list[str], opts, screens: bool) -> dict:
    """The app attached: the two open-loop screen phases (if `screens`), then the closed
    loop on the cluster tab."""
    frames = Frames()
    app = counting_app(backend, frames)
    out: dict = {}
    async with app.run_test(size=SCREEN) as pilot:
        await pilot.pause(SETTLE_S)
        if not frames.times:
            raise BenchError("the app painted no frame")
        if screens:
            out["cluster_tab"], _ = await open_loop(urls, frames, opts)
            app.action_show_tab("messages")
            await pilot.pause(SETTLE_S)
            out["messages_tab"], _ = await open_loop(urls, frames, opts)
            app.action_show_tab("keyspace")
            await pilot.pause(SETTLE_S)
            frames.reading = True
            out["keyspace_tab"], writer = await open_loop(urls, frames, opts)
            frames.reading = False
            out["latencies"] = latencies(frames, writer)
            out["sampled"] = len(writer["samples"])
            app.action_show_tab("cluster")
            await pilot.pause(SETTLE_S)
        frames.counting = False          # the closed loop measures the cluster only
        used = os.times()
        out["with_ui"] = await asyncio.to_thread(closed_loop, urls, opts.seconds,
                                                 opts.concurrency)
        used = os.times().user + os.times().system - used.user - used.system
        await pilot.pause(SETTLE_S)      # let the last views land before the app quits
    frames.settle()
    out["ui_cores"], out["frames"] = used / opts.seconds, len(frames.changed)
    return out


def attach_and_watch(urls: list[str], opts, screens: bool) -> dict:
    backend = LiveBackend(urls, control=True)
    try:
        backend.wait_for(lambda v: v.leader() is not None and all(
            n.up and n.voter for n in v.nodes), 10.0)
        return asyncio.run(with_app(backend, urls, opts, screens))
    except TimeoutError:
        raise BenchError("the interface did not see every member and a leader") from None
    except (BenchError, grpc.RpcError, subprocess.SubprocessError):
        raise
    except Exception as exc:     # noqa: BLE001 - the app failed: say how, in one line
        raise BenchError(f"the interface failed: {type(exc).__name__}: {exc}") from None
    finally:
        backend.close()


def measure_all(opts) -> Results:
    cluster = LocalCluster(3, None, 100, 1000)
    try:
        cluster.start(LEADER_WAIT_S)
        urls = cluster.client_urls()
        step("bare cluster, closed loop")
        bare = [closed_loop(urls, opts.seconds, opts.concurrency)]
        delete_bench_load_keys(urls)
        rounds: list[dict] = []
        busy: list[tuple[Figures, float]] = []
        for n in range(opts.rounds):
            step("the app: cluster, messages and keyspace tabs (open loop), then closed "
                 "loop" if n == 0
                 else f"the app again, closed loop ({n + 1} of {opts.rounds})")
            rounds.append(attach_and_watch(urls, opts, screens=n == 0))
            step("bare cluster again, closed loop")
            bare.append(closed_loop(urls, opts.seconds, opts.concurrency))
            share = rounds[-1]["ui_cores"]
            step(f"beside a busy loop taking {share:.2f} cores, closed loop")
            busy.append(beside_busy_loop(urls, opts, share))
            step("bare cluster again, closed loop")
            bare.append(closed_loop(urls, opts.seconds, opts.concurrency))
    finally:
        cluster.stop()
    first = rounds[0]
    return Results(rate=opts.rate, cluster_tab=first["cluster_tab"],
                   messages_tab=first["messages_tab"], keyspace_tab=first["keyspace_tab"],
                   latencies=first["latencies"],
                   sampled=first["sampled"], bare=bare,
                   with_ui=[r["with_ui"] for r in rounds],
                   ui_cores=[r["ui_cores"] for r in rounds],
                   frames=sum(r["frames"] for r in rounds),
                   busy=[figures for figures, _ in busy],
                   busy_cores=[cores for _, cores in busy])


def beside_busy_loop(urls: list[str], opts, share: float) -> tuple[Figures, float]:
    """The closed loop beside a process burning `share` cores; its figures, and the
    cores that process took."""
    share = min(1.0, max(0.01, share))
    loop = subprocess.Popen([sys.executable, "-m", "raftviz.bench_busy", f"{share:.3f}"],
                            stdout=subprocess.PIPE, text=True)
    try:
        figures = closed_loop(urls, opts.seconds, opts.concurrency)
    finally:
        loop.terminate()
        took = loop.communicate(timeout=WRITER_SLACK_S)[0]
    try:
        return figures, float(took)
    except ValueError:
        raise BenchError("the busy loop (raftviz.bench_busy) did not say what it "
                         "took") from None


def step(text: str) -> None:
    print(f"  {text} ...", file=sys.stderr, flush=True)


# --- the report -------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


Row = tuple[str, str, str, bool | None]     # figure, measured, target, met


def row(name: str, value: str, target: str = "", met: bool | None = None) -> Row:
    return name, value, target, met


def table(rows: list[Row]) -> str:
    """The rows under a header, the measured column as wide as its widest figure (each
    phase's puts/s, with many rounds)."""
    width = max([20] + [len(value) for _, value, _, _ in rows])

    def line(name: str, value: str, target: str, verdict: str) -> str:
        return f"{name:<44}{value:>{width}}  {target:<10}{verdict}".rstrip()
    out = [line("figure", "measured", "target", "met?"), "-" * (width + 62)]
    for name, value, target, met in rows:
        out.append(line(name, value, target, "" if met is None else
                        ("met" if met else "MISSED")))
    return "\n".join(out)


def report(r: Results) -> str:
    p50, p99 = percentile(r.latencies, 0.50), percentile(r.latencies, 0.99)
    bare = " ".join(f"{f.rate:.0f}" for f in r.bare)
    with_ui = " ".join(f"{f.rate:.0f}" for f in r.with_ui)
    each = " ".join(f"{100 * x:.0f}" for x in r.slowdowns())
    rows = []
    for tab, o in (("cluster", r.cluster_tab), ("messages", r.messages_tab),
                   ("keyspace", r.keyspace_tab)):
        rows += [
            row(f"frames/s, {tab} tab, {r.rate:.0f} writes/s asked", f"{o.fps:.1f}",
                f">= {TARGET_FPS:.0f}", o.fps >= TARGET_FPS),
            row("  updates composed/s (frames, and repaints)", f"{o.updates:.1f}"),
            row("  interface CPU per frame (ms)", f"{o.cpu_per_frame:.1f}"),
            row(f"  writes/s sent / acknowledged ({o.errors} lost)",
                f"{o.sent:.0f} / {o.writes:.0f}")]
    rows += [
        row("commit-to-screen p50 (ms)", f"{p50:.1f}"),
        row("commit-to-screen p99 (ms)", f"{p99:.1f}", f"< {TARGET_P99_MS:.0f}",
            p99 < TARGET_P99_MS),
        row("  samples seen / sampled", f"{len(r.latencies)}/{r.sampled}"),
        row("cluster puts/s without UI, each phase", bare),
        row("cluster puts/s with UI, between them", with_ui),
        row("  interface process CPU, each round (cores)",
            " ".join(f"{cores:.2f}" for cores in r.ui_cores)),
        row("  slowdown in each round (%)", each),
        row("UI slowdown of the cluster (median)", f"{100 * r.slowdown():.1f}%",
            f"<= {100 * TARGET_SLOWDOWN:.0f}%", r.slowdown() <= TARGET_SLOWDOWN),
        row("reference: a busy loop taking as much CPU", ""),
        row("  cluster puts/s beside it", " ".join(f"{f.rate:.0f}" for f in r.busy)),
        row("  its CPU, each round (cores)", " ".join(f"{c:.2f}" for c in r.busy_cores)),
        row("  slowdown in each round (%)",
            " ".join(f"{100 * x:.0f}" for x in r.slowdowns(busy=True))),
        row("  its slowdown of the cluster (median)", f"{100 * r.slowdown(busy=True):.1f}%"),
    ]
    return table(rows)


def run(args: argparse.Namespace) -> int:
    if args.seconds <= 0 or args.rate <= 0 or args.concurrency < 1 or args.rounds < 1:
        print("raftviz: error: --seconds, --rate, --concurrency and --rounds must be "
              "positive",
              file=sys.stderr)
        return 2
    print(f"raftviz bench ui: {args.seconds:g} s per phase, {args.rate:g} writes/s, "
          f"screen {SCREEN[0]}x{SCREEN[1]}", file=sys.stderr, flush=True)
    try:
        results = measure_all(args)
    except (BenchError, RuntimeError, OSError, ValueError, grpc.RpcError,
            subprocess.SubprocessError) as exc:
        print(f"raftviz: error: {one_line(exc)}", file=sys.stderr)
        return 1
    print(report(results))
    return 0


def one_line(exc: BaseException) -> str:
    if isinstance(exc, grpc.RpcError):
        return f"gRPC: {exc.code().name} {exc.details()}"
    return error_line(exc)
