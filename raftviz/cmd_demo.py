"""`raftviz demo lock`: Jepsen's point about etcd locks, played out and checked.

Client A takes an etcd-style lock (a lease plus a create-revision compare), pauses past its
lease, client B takes the lock, and A, still believing it holds it, overwrites B's data:
two holders at once, the shared data corrupted. Then the same writes fenced with the
lock's revision: A's late write is refused. It is the `locks` lesson, played headless on
the deterministic simulator, so every run prints the same story and checks every claim.
"""

from __future__ import annotations

import argparse

from . import lessons

DEMOS = {"lock": "locks"}


def register(sub) -> None:
    p = sub.add_parser("demo", help="runnable demonstrations (lock: locks are not mutual "
                       "exclusion)", description=__doc__.split("\n\n")[0])
    p.add_argument("name", choices=sorted(DEMOS), help="which demonstration")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    lesson_args = argparse.Namespace(name=DEMOS[args.name], lessons=lessons.LESSONS_DIR,
                                     headless=True, answers=None)
    return lessons.cmd_run(lesson_args)
