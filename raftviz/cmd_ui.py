"""`raftviz` with no subcommand: the terminal UI.

By default on a fresh live local cluster (real member processes); with `--sim` on the
deterministic simulator, where time moves only when the user says so and every step can be
undone, optionally opened at an event or from a saved scenario.
"""

from __future__ import annotations

import argparse
import sys

from .argtypes import int_in_range


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
    ui.add_argument("--nodes", type=int_in_range(1, 7), default=3,
                    help="cluster size, 1 to 7 (default 3)")
    ui.add_argument("--data-dir", metavar="DIR",
                    help="keep the live cluster's data here instead of a temporary dir")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    sim_only = [flag for flag, value in (("--at", args.at), ("--scenario", args.scenario))
                if value is not None]
    if sim_only and not args.sim:
        print(f"raftviz: error: {sim_only[0]} needs --sim", file=sys.stderr)
        return 2
    if args.sim:
        return _run_sim(args)
    from .live_app import run_live   # the live cluster's imports are only needed here
    return run_live(nodes=args.nodes, data_dir=args.data_dir)


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
    from .ui.app import run_sim
    try:
        run_sim(seed=args.seed, nodes=args.nodes, at_event=args.at, scenario=args.scenario)
    except (OSError, ValueError) as e:
        print(f"raftviz: error: {e}", file=sys.stderr)
        return 1
    return 0
