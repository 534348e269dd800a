"""`python -m raftviz.ui`: the interface on a simulated cluster, without the full CLI.

    python -m raftviz.ui [--seed S] [--nodes N] [--at EVENT] [--scenario FILE] [--light]
"""

from __future__ import annotations

import argparse

from .app import run_sim


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m raftviz.ui",
                                     description="Watch a simulated Raft cluster think.")
    parser.add_argument("--seed", type=int, default=1, help="the seed of the simulation")
    parser.add_argument("--nodes", type=int, default=3, help="how many nodes (1 to 9)")
    parser.add_argument("--at", type=int, default=None, metavar="EVENT",
                        help="open at this event (of the scenario, or after EVENT ticks)")
    parser.add_argument("--scenario", default=None, metavar="FILE",
                        help="a scenario file saved with ctrl+s")
    parser.add_argument("--light", action="store_true", help="use the light theme")
    args = parser.parse_args(argv)
    run_sim(args.seed, args.nodes, args.at, args.scenario,
            theme="textual-light" if args.light else None)


if __name__ == "__main__":
    main()
