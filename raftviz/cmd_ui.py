"""`raftviz` with no subcommand: the terminal UI.

By default on a fresh live local cluster (real member processes); with `--sim` on the
deterministic simulator, where time moves only when the user says so and every step can be
undone, optionally opened at an event or from a saved scenario, or started without PreVote
or CheckQuorum.
"""

from __future__ import annotations

import argparse
import sys

from .argtypes import int_in_range
from .errors import error_line


def add_ui_flags(parser: argparse.ArgumentParser) -> None:
    ui = parser.add_argument_group("the terminal UI (when no command is given)")
    ui.add_argument("--sim", action="store_true",
                    help="run the UI on the deterministic simulator instead of live members")
    ui.add_argument("--seed", type=int_in_range(0), default=1,
                    help="simulator seed (with --sim; default 1)")
    ui.add_argument("--at", type=int_in_range(0), metavar="EVENT",
                    help="open the simulation at this event (with --sim)")
    ui.add_argument("--scenario", metavar="FILE",
                    help="replay a saved session file (with --sim)")
    ui.add_argument("--check-seed", type=int_in_range(0), metavar="S",
                    help="replay seed S of `raftviz check` (with --sim): the checker's own "
                         "run, event by event; --at opens it at an event")
    ui.add_argument("--planted-bug", action="store_true",
                    help="with --check-seed: the run `raftviz check --planted-bug` makes")
    ui.add_argument("--no-pre-vote", action="store_true",
                    help="start the simulated nodes without PreVote (with --sim)")
    ui.add_argument("--no-check-quorum", action="store_true",
                    help="start the simulated nodes without CheckQuorum (with --sim)")
    ui.add_argument("--nodes", type=int_in_range(1, 9), default=3,
                    help="cluster size: 1 to 7 live, up to 9 when replaying a check "
                         "(default 3)")
    ui.add_argument("--data-dir", metavar="DIR",
                    help="keep the live cluster's data here instead of a temporary dir")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    sim_only = [flag for flag, value in (("--at", args.at), ("--scenario", args.scenario),
                                         ("--check-seed", args.check_seed),
                                         ("--planted-bug", args.planted_bug or None),
                                         ("--no-pre-vote", args.no_pre_vote or None),
                                         ("--no-check-quorum", args.no_check_quorum or None))
                if value is not None]
    if sim_only and not args.sim:
        print(f"raftviz: error: {sim_only[0]} needs --sim", file=sys.stderr)
        return 2
    if args.sim:
        return _run_sim(args)
    if args.nodes > 7:
        print("raftviz: error: a live cluster has 1 to 7 nodes", file=sys.stderr)
        return 2
    from .live_app import run_live   # the live cluster's imports are only needed here
    return run_live(nodes=args.nodes, data_dir=args.data_dir)


def _run_check_replay(args: argparse.Namespace) -> int:
    """The very run `raftviz check` made for one seed, event by event."""
    if args.scenario is not None:
        print("raftviz: error: --scenario and --check-seed do not go together",
              file=sys.stderr)
        return 2
    from engine.sim.check_backend import CheckReplay
    from .ui.app import run_backend
    run_backend(CheckReplay.opened_at(args.check_seed, args.nodes, args.at, args.planted_bug))
    return 0


def register_attach(sub) -> None:
    p = sub.add_parser("attach", help="the UI on a running cluster (raftviz up, or etcd)",
                       description="Watch and steer a running cluster: full control of a "
                       "`raftviz up` cluster, a read-only view of a real etcd.")
    p.add_argument("endpoints", help="comma-separated client URLs, e.g. "
                   "http://127.0.0.1:2379,http://127.0.0.1:22379")
    p.set_defaults(run=_run_attach)


def _run_attach(args: argparse.Namespace) -> int:
    from .live_app import run_attach
    return run_attach(args.endpoints)


def _run_sim(args: argparse.Namespace) -> int:
    options = [flag for flag, on in (("--no-pre-vote", args.no_pre_vote),
                                     ("--no-check-quorum", args.no_check_quorum)) if on]
    other = "--check-seed" if args.check_seed is not None else \
        "--scenario" if args.scenario is not None else None
    if options and other:
        print(f"raftviz: error: {options[0]} and {other} do not go together (the run "
              f"brings its own options)", file=sys.stderr)
        return 2
    if args.check_seed is not None:
        return _run_check_replay(args)
    try:
        if options:
            from .ui.app import run_backend
            run_backend(sim_backend(args))
        else:
            from .ui.app import run_sim
            run_sim(seed=args.seed, nodes=args.nodes, at_event=args.at, scenario=args.scenario)
    except (OSError, ValueError) as e:
        print(f"raftviz: error: {error_line(e)}", file=sys.stderr)
        return 1
    return 0


def sim_backend(args: argparse.Namespace):
    """A fresh simulated cluster with the Raft options asked for, `--at` ticks along."""
    from engine import observe as o
    from engine.sim.backend import SimBackend
    backend = SimBackend(args.nodes, args.seed, pre_vote=not args.no_pre_vote,
                         check_quorum=not args.no_check_quorum)
    for _ in range(args.at or 0):
        backend.execute(o.Tick())
    return backend
