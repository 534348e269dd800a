"""`raftviz node`: run one member of a live cluster, with etcd's flags.

Runs until SIGINT or SIGTERM, then stops cleanly. Problems that stop it from starting (a
busy port, a data dir of another cluster, a corrupt WAL, a cluster to join that does not
know this member) are one line on stderr and exit status 1; bad flags are exit status 2.
"""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import sys

import trio

from engine.runtime.errors import StorageError
from engine.runtime.garbage import keep_history_out_of_full_collections
from engine.runtime.join import JoinError
from engine.runtime.node import TLSFiles, run_member

from .errors import error_line
from .node_flags import add_node_flags, node_settings


def register(sub) -> None:
    p = sub.add_parser("node", help="run one member of a live cluster (etcd's flags)",
                       description="Run one raftviz member. Flags are named as etcd's.")
    add_node_flags(p)
    p.add_argument("--enable-control", action="store_true",
                   help="serve raftviz's control service (observe, faults, crash) on the "
                        "client port; for local teaching clusters only")
    p.add_argument("--log-level", default="warning",
                   choices=("debug", "info", "warning", "error"))
    p.set_defaults(run=run)


def _tls(settings, prefix: str) -> TLSFiles:
    t = settings.tls
    return TLSFiles(t.get(f"{prefix}cert_file", ""), t.get(f"{prefix}key_file", ""),
                    t.get(f"{prefix}trusted_ca_file", ""),
                    bool(t.get(f"{prefix}client_cert_auth", False)))


async def _serve(settings) -> None:
    async with trio.open_nursery() as nursery:
        await nursery.start(functools.partial(
            run_member, settings.server, settings.client_listen, _tls(settings, ""),
            _tls(settings, "peer_"), control=settings.control))
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                nursery.cancel_scope.cancel()
                return


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format=f"%(asctime)s {args.name} %(levelname)s %(message)s")
    try:
        settings = node_settings(args)
        settings.control = args.enable_control
    except ValueError as e:
        print(f"raftviz node: {e}", file=sys.stderr)
        return 2
    keep_history_out_of_full_collections()
    try:
        trio.run(_serve, settings)
    except BaseException as e:   # noqa: BLE001 - trio wraps failures in groups
        problem = startup_problem(e)
        if problem is None:
            raise
        print(f"raftviz node: {error_line(problem)}", file=sys.stderr)
        return 1
    return 0


def startup_problem(e: BaseException) -> BaseException | None:
    """The I/O or data-dir error inside a (possibly nested) exception group, if any."""
    if isinstance(e, (OSError, StorageError, ValueError, JoinError)):
        return e
    if isinstance(e, BaseExceptionGroup):
        for inner in e.exceptions:
            found = startup_problem(inner)
            if found is not None:
                return found
    return None
