"""`raftviz torture --live`: a real cluster under a nemesis, then the checkers' verdict.

Starts three `raftviz node` processes on loopback (as `raftviz up` does), runs recording
clients against them, and meanwhile a seeded nemesis kills members with SIGKILL, freezes
them with SIGSTOP/SIGCONT, cuts the leader off through the fault gate and transfers
leadership. At the end everything is healed and restarted, the store's history is read
back, and the recorded history goes through the linearizability and durability checkers.
Prints a summary table; exit status 1 if anything was violated.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import time

from engine import check as c
from engine.runtime.control import ControlClient

from .cmd_up import load_or_create_layout, start_members, stop_members, wait_for_leader
from .errors import error_line
from .status import leader_of, query_status
from .torture_clients import Recorder, store_history

FAULTS = ("kill", "pause", "partition", "transfer")


def register(sub) -> None:
    p = sub.add_parser("torture", help="a live cluster under kill -9, SIGSTOP, partitions "
                       "and leader transfers, checked for linearizability and durability",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--live", action="store_true", required=True,
                   help="torture real member processes (the only mode)")
    p.add_argument("--duration", type=_duration, default=60.0, metavar="TIME",
                   help="how long the nemesis runs, e.g. 60s or 2m (default 60s)")
    p.add_argument("--clients", type=int, default=4, help="client threads (default 4)")
    p.add_argument("--seed", type=int, default=1, help="nemesis and client seed")
    p.set_defaults(run=run)


def _duration(text: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(s|m)?", text.strip())
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration like 30s or 2m, got {text!r}")
    return float(m.group(1)) * (60 if m.group(2) == "m" else 1)


class Nemesis:
    """One fault at a time, each undone before the next; rounds of every kind in a
    seeded order, with seeded victims and durations."""

    def __init__(self, layout, procs, data_dir: str, args, seed: int) -> None:
        self.layout, self.procs, self.dir, self.args = layout, procs, data_dir, args
        self.rng = random.Random(seed)
        self.counts: collections.Counter = collections.Counter()

    def ids(self) -> list[int]:
        return [s.header.member_id if s else 0
                for s in query_status(self.layout.client_urls(), timeout=0.5)]

    def run(self, until: float) -> None:
        rounds: list[str] = []
        while time.monotonic() < until:
            if not rounds:   # every kind once per round, in a seeded order
                rounds = self.rng.sample(FAULTS, len(FAULTS))
            fault = rounds.pop()
            victim = self.rng.randrange(len(self.procs))
            getattr(self, fault)(victim)
            self.counts[fault] += 1
            time.sleep(self.rng.uniform(0.5, 1.5))

    def kill(self, i: int) -> None:
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        time.sleep(self.rng.uniform(0.2, 1.0))
        self.procs[i] = start_members(self.layout, self.dir, self.args, only=i)[0]

    def pause(self, i: int) -> None:
        os.kill(self.procs[i].pid, signal.SIGSTOP)
        time.sleep(self.rng.uniform(0.3, 1.5))
        os.kill(self.procs[i].pid, signal.SIGCONT)

    def partition(self, i: int) -> None:
        ids = self.ids()
        if not all(ids):
            return
        controls = [ControlClient(u) for u in self.layout.client_urls()]
        try:
            controls[i].command("cut", peers=[x for x in ids if x != ids[i]])
            for j, ctl in enumerate(controls):
                if j != i:
                    ctl.command("cut", peers=[ids[i]])
            time.sleep(self.rng.uniform(0.5, 1.5))
            for ctl in controls:
                ctl.command("heal")
        finally:
            for ctl in controls:
                ctl.close()

    def transfer(self, i: int) -> None:
        statuses = query_status(self.layout.client_urls(), timeout=0.5)
        lead = leader_of(statuses)
        for j, s in enumerate(statuses):
            if s is not None and s.header.member_id == lead and statuses[i] is not None:
                ctl = ControlClient(self.layout.client_urls()[j])
                ctl.command("transfer", to=statuses[i].header.member_id)
                ctl.close()


def summary(ops: list[c.Operation], counts, verdicts: dict[str, c.Verdicts]) -> str:
    ok = sum(1 for op in ops if op.complete is not None and not op.failed)
    unknown = sum(1 for op in ops if op.unknown)
    rows = [("operations", f"{len(ops)} ({ok} ok, {unknown} unknown, "
                           f"{len(ops) - ok - unknown} refused)"),
            ("faults", ", ".join(f"{k} {counts[k]}" for k in FAULTS) or "none")]
    for name, v in verdicts.items():
        rows.append((name, f"{len(v.findings)} violations in {v.histories} histories"
                           + (f", {len(v.undecided)} undecided" if v.undecided else "")))
    width = max(len(r[0]) for r in rows)
    lines = [f"{a:<{width}}  {b}" for a, b in rows]
    if any(v.undecided for v in verdicts.values()):
        # "0 violations" must not read as a pass for histories nobody could search.
        lines.append(f"{c.UNDECIDED_NOTE} (long runs with many unanswered writes); a shorter "
                     "--duration leaves it less to search")
    return "\n".join(lines)


def torture(args, data_dir: str) -> int:
    layout = load_or_create_layout(data_dir, 3)
    args.heartbeat_interval, args.election_timeout = 50, 500
    procs = start_members(layout, data_dir, args)
    try:
        wait_for_leader(layout, procs, data_dir, 30)
        recorder = Recorder(layout.client_urls(), args.clients, args.seed)
        nemesis = Nemesis(layout, procs, data_dir, args, args.seed)
        recorder.start()
        print(f"torturing for {args.duration:g} s ...", file=sys.stderr, flush=True)
        nemesis.run(time.monotonic() + args.duration)
        time.sleep(1)       # healed: let the clients see the cluster whole again
        recorder.stop()
        wait_for_leader(layout, procs, data_dir, 30)
        store = store_history(layout.client_urls()[0])
    finally:
        stop_members(procs)
    verdicts = {"linearizability": c.check_linearizable(recorder.ops, store=store),
                "durability": c.check_durability(recorder.ops, store)}
    print(summary(recorder.ops, nemesis.counts, verdicts))
    findings = [f for v in verdicts.values() for f in v.findings]
    for f in findings[:5]:
        print(c.format_finding(f))
    return 1 if findings else 0


def run(args: argparse.Namespace) -> int:
    data_dir = tempfile.mkdtemp(prefix="raftviz-torture-")
    try:
        return torture(args, data_dir)
    except (RuntimeError, OSError, ValueError) as e:
        print(f"raftviz torture: {error_line(e)}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
