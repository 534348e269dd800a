"""`raftviz serve`: the same app in a web browser, for a classroom projector.

textual-serve starts one raftviz process per browser tab and streams its screen over a
web socket. By default every tab gets its own deterministic simulator (so a class can
follow a lesson step by step); `--live` gives each tab a live local cluster instead, and
`--lesson NAME` opens a lesson (from `--lessons DIR` if given). Listens on 127.0.0.1
unless told otherwise.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve the UI to web browsers (textual-serve)",
                       description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--live", action="store_true", help="a live local cluster per tab")
    mode.add_argument("--lesson", metavar="NAME", help="open this lesson in every tab")
    p.add_argument("--lessons", type=Path, metavar="DIR",
                   help="with --lesson: the directory of lessons (default: raftviz's own)")
    p.add_argument("--seed", type=int, default=1, help="simulator seed (default 1)")
    p.set_defaults(run=run)


def app_command(args: argparse.Namespace) -> str:
    """The command each browser tab runs."""
    base = [sys.executable, "-m", "raftviz"]
    if args.lesson:
        base += ["lesson", "run", args.lesson]
        if args.lessons is not None:
            base += ["--lessons", str(args.lessons.resolve())]
    elif not args.live:
        base += ["--sim", "--seed", str(args.seed)]
    return shlex.join(base)


def check_lesson(args: argparse.Namespace) -> str | None:
    """What is wrong with the lesson every tab would open, before any tab opens it."""
    if args.lessons is not None and not args.lesson:
        return "--lessons needs --lesson NAME"
    if not args.lesson:
        return None
    from .lesson_player import LessonError
    from .lessons import LESSONS_DIR, NotFound, find_lesson, load
    try:
        load(find_lesson(args.lesson, args.lessons or LESSONS_DIR))
    except (NotFound, LessonError) as exc:
        return str(exc)
    return None


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        print(f"raftviz: error: --port must be between 1 and 65535, got {args.port}",
              file=sys.stderr)
        return 2
    problem = check_lesson(args)
    if problem:
        print(f"raftviz: error: {problem}", file=sys.stderr)
        return 2
    from textual_serve.server import Server   # imported late: only this command needs it

    command = app_command(args)
    print(f"serving `{command}` at http://{args.host}:{args.port} (Ctrl-C to stop)",
          file=sys.stderr)
    try:
        Server(command, host=args.host, port=args.port, title="raftviz").serve()
    except OSError as e:
        print(f"raftviz serve: cannot listen on {args.host}:{args.port}: {e.strerror}",
              file=sys.stderr)
        return 1
    return 0
