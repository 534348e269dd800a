"""The `raftviz` command line: one argparse parser, one small module per subcommand.

A subcommand module exposes `register(subparsers)`, which adds its parser and sets
`run=<function(args) -> int>` as a default. Adding a subcommand is one import and one line
in `SUBCOMMANDS`. Bad arguments print one line, `raftviz: error: ...`, and exit 2; a
subcommand's own failures print their message the same way, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Callable, Sequence

from . import (
    bench_cluster, bench_kv, bench_sim, bench_ui, cmd_check, cmd_demo, cmd_node, cmd_serve,
    cmd_snapshot, cmd_ui, cmd_up, lessons, torture,
)


class UsageError(Exception):
    """Bad command-line arguments (exit status 2)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str):   # argparse would print the usage and exit
        raise UsageError(message)


def _register_bench(subparsers) -> None:
    bench = subparsers.add_parser("bench", help="measure the engine's speed")
    targets = bench.add_subparsers(dest="target", metavar="TARGET", required=True)
    bench_sim.register(targets)
    bench_kv.register(targets)
    bench_cluster.register(targets)
    bench_ui.register(targets)


SUBCOMMANDS: list[Callable] = [cmd_check.register, cmd_node.register, cmd_up.register,
                               cmd_snapshot.register, cmd_serve.register, cmd_ui.register_attach,
                               lessons.register, cmd_demo.register, torture.register,
                               _register_bench]


def build_parser() -> Parser:
    parser = Parser(prog="raftviz", description="An etcd-like Raft cluster you can watch think. "
                    "Without a command: the terminal UI on a fresh local cluster.")
    cmd_ui.add_ui_flags(parser)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in SUBCOMMANDS:
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except UsageError as e:
        print(f"raftviz: error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:        # --help and friends
        return e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        print("raftviz: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:        # e.g. `raftviz lesson run x --headless | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
