"""`raftviz bench ui` smoke test: a real run with tiny phases, checking the table's rows,
that frames were painted and latency samples seen, and that nothing is left running.
Speeds are not checked: they depend on the machine."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading

import pytest

from raftviz import bench_ui

TAB_ROWS = ["updates composed/s (frames, and repaints)", "interface CPU per frame (ms)",
            "writes/s sent / acknowledged"]
ROWS = [
    "frames/s, cluster tab, 100 writes/s asked", *TAB_ROWS,
    "frames/s, messages tab, 100 writes/s asked", *TAB_ROWS,
    "frames/s, keyspace tab, 100 writes/s asked", *TAB_ROWS,
    "commit-to-screen p50 (ms)", "commit-to-screen p99 (ms)", "samples seen / sampled",
    "cluster puts/s without UI, each phase", "cluster puts/s with UI, between them",
    "interface process CPU, each round (cores)", "slowdown in each round (%)",
    "UI slowdown of the cluster (median)", "reference: a busy loop taking as much CPU",
    "cluster puts/s beside it", "its CPU, each round (cores)", "slowdown in each round (%)",
    "its slowdown of the cluster (median)",
]
TARGETED = {ROWS[0], ROWS[4], ROWS[8], ROWS[13], ROWS[19]}
OURS = ("observe-", "keyspace", "notifier", "membership")


def name(line: str) -> str:
    return re.sub(r" \(\d+ lost\)$", "", line[:44].strip())


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="raftviz bench")
    bench_ui.register(parser.add_subparsers(dest="target"))
    return parser.parse_args(["ui", *argv])


def ours() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(OURS)}


def children() -> list[int]:
    """Live (not reaped) child processes of this test process."""
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid() and fields[0] != "Z":
            out.append(int(pid))
    return out


def test_defaults_and_bad_arguments(capsys):
    args = parse([])
    assert (args.seconds, args.rate, args.concurrency, args.rounds) == (8.0, 1000.0, 64, 3)
    args = parse(["--seconds", "0"])
    assert args.run(args) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.slow
def test_tiny_run_paints_frames_sees_writes_and_stops_everything():
    before, threads = children(), ours()
    results = bench_ui.measure_all(parse(["--seconds", "1.5", "--rate", "100",
                                          "--concurrency", "8", "--rounds", "2"]))
    assert results.frames > 0
    assert results.cluster_tab.fps > 0 and results.messages_tab.fps > 0
    assert results.keyspace_tab.fps > 0
    assert results.sampled > 0 and len(results.latencies) > 0
    assert len(results.with_ui) == len(results.busy) == 2 and len(results.bare) == 5
    assert all(f.rate > 0 for f in results.with_ui + results.busy + results.bare)
    assert len(results.slowdowns()) == len(results.slowdowns(busy=True)) == 2
    assert all(0 < cores < 1 for cores in results.busy_cores)

    lines = bench_ui.report(results).splitlines()
    assert lines[0].split() == ["figure", "measured", "target", "met?"]
    assert set(lines[1]) == {"-"}
    assert [name(line) for line in lines[2:]] == ROWS
    assert {name(line) for line in lines[2:]
            if line.rstrip().endswith((" met", " MISSED"))} == TARGETED

    assert children() == before
    assert not [t.name for t in ours() - threads]


def test_writer_refuses_a_rate_of_zero_in_one_line(capsys):
    from raftviz import bench_writer
    with pytest.raises(SystemExit) as stop:
        bench_writer.main(["--endpoints", "127.0.0.1:1", "--rate", "0", "--seconds", "1"])
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        "--rate and --seconds must be positive")


def test_slowdown_sets_each_round_against_the_bare_phases_either_side():
    from raftviz.bench_cluster import Figures

    def puts(*rates):
        return [Figures(rate, 1.0, 2.0, 0) for rate in rates]
    # bare, app, bare, busy loop, bare, app, bare, busy loop, bare
    results = bench_ui.Results(rate=1000, cluster_tab=None, messages_tab=None,
                               keyspace_tab=None, latencies=[],
                               sampled=0, bare=puts(1000, 800, 1200, 1000, 600),
                               with_ui=puts(450, 990), ui_cores=[0.4] * 2, frames=1,
                               busy=puts(900, 560), busy_cores=[0.4] * 2)
    assert [round(x, 3) for x in results.slowdowns()] == [0.5, 0.1]
    assert [round(x, 3) for x in results.slowdowns(busy=True)] == [0.1, 0.3]
    assert results.slowdown() == pytest.approx(0.5)      # the upper median of two
    assert results.slowdown(busy=True) == pytest.approx(0.3)


def test_the_busy_loop_keeps_its_cpu_time_at_its_share_of_the_time_elapsed():
    from raftviz import bench_busy
    clock = {"now": 5.0, "cpu": 2.0, "rests": 0}     # CPU time spent before it started

    def cpu() -> float:           # each read while working is 0.1 ms of work
        clock["now"] += 0.0001
        clock["cpu"] += 0.0001
        return clock["cpu"]

    def rest(seconds: float) -> None:
        clock["now"] += seconds
        clock["rests"] += 1
    bench_busy.burn(0.25, lambda: clock["now"], cpu, rest, lambda: clock["now"] < 15.0)
    assert (clock["cpu"] - 2.0) / (clock["now"] - 5.0) == pytest.approx(0.25, abs=0.002)
    assert clock["rests"] > 7000                     # it rested in between, a slice a time


def test_the_busy_loop_refuses_a_share_it_cannot_take(capsys):
    from raftviz import bench_busy
    for argv in ([], ["x"], ["0"], ["1.5"]):
        assert bench_busy.main(argv) == 2
    assert capsys.readouterr().err.count("\n") == 4


def test_an_update_that_repaints_the_same_words_is_no_frame():
    from rich.console import Console
    from rich.segment import Segment
    from rich.style import Style
    from textual._compositor import ChopsUpdate
    from textual.strip import Strip

    def update(*words: str, bold: bool = False) -> str:   # line y shows words[y] at column 0
        style = Style(bold=bold)
        return ChopsUpdate([{0: Strip([Segment(w, style)])} for w in words],
                           [(y, 0, len(w)) for y, w in enumerate(words)],
                           [[len(w)] for w in words]).render_segments(Console())
    lines = bench_ui.ScreenLines()
    assert lines.changed_by(update("rev 7", "k=1"))
    assert not lines.changed_by(update("rev 7", "k=1", bold=True))   # repainted as it was
    assert not lines.changed_by(update("rev 7"))                      # its line end moved
    assert lines.changed_by(update("rev 7", "k=2"))
    assert lines.changed_by(update("rev 7", "k=2"), layout=True)
    frames = bench_ui.Frames()
    for at, words in ((1.0, "k=1"), (1.1, "k=1"), (1.2, "k=2"), (1.3, "k=2")):
        frames.add(at, update(words))
    assert frames.changed == []                 # kept while the phase runs, told apart after
    frames.settle()
    assert frames.rate(1.0, 2.0) == 2 and frames.rate(1.0, 2.0, frames.times) == 4


def test_frames_read_the_keys_shown_only_while_the_latency_phase_reads():
    row = "\x1b[1mbench/k7\x1b[0m  42  3  {}  "          # key, value, create, mod revision
    frames = bench_ui.Frames()
    frames.add(1.0, row.format(9))
    frames.reading = True
    frames.add(2.0, row.format(9))
    frames.add(3.0, row.format(12))
    assert frames.first_showing(7, 9) is None              # read after the phase, not in it
    frames.settle()
    assert frames.first_showing(7, 9) == 2.0               # not reading at 1.0: not learnt
    assert frames.first_showing(7, 10) == 3.0              # a later revision implies it
    assert frames.first_showing(7, 13) is None


def test_the_bench_runs_the_interface_at_the_screen_timer_raftviz_uses():
    """A fresh interpreter: which module loads Textual first decides its frame rate."""
    probe = ("from engine.sim.backend import SimBackend; from raftviz import bench_ui; "
             "bench_ui.counting_app(SimBackend(3, 1), bench_ui.Frames()); "
             "import textual.constants as c; print(c.MAX_FPS)")
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True,
                         text=True, timeout=60, check=True).stdout
    assert out.strip() == "120"


def test_the_measured_column_is_as_wide_as_its_widest_figure():
    phases = " ".join(["1185"] * 7)              # three rounds: seven bare phases
    text = bench_ui.table([bench_ui.row("frames/s", "20.1", ">= 20", True),
                           bench_ui.row("cluster puts/s without UI, each phase", phases)])
    header, rule, fps, puts = text.splitlines()
    assert fps.index("20.1") + 4 == puts.index(phases) + len(phases) == \
        header.index("measured") + len("measured")
    assert fps.endswith("met") and len(rule) >= len(fps)
