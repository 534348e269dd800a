"""`raftviz snapshot save | status | restore`: etcdctl's snapshot commands for raftviz.

save streams Maintenance.Snapshot from one member into a file (checked against its SHA-256
trailer before it is renamed into place); status checks a snapshot file through and sums
it up; restore builds a new member's data dir from one, for `raftviz node` started with
the same cluster flags. Every failure is one line on stderr and a non-zero exit status:
1 for a problem with the files or the cluster, 2 for bad flags.
"""

from __future__ import annotations

import argparse
import json
import sys

import grpc

from engine.runtime.backup import (
    BackupError, restore_member, save_stream, snapshot_status,
)
from engine.runtime.errors import StorageError
from engine.runtime.membership import Membership, parse_initial_cluster
from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc

from .errors import error_line

PROG = "raftviz snapshot"


class FlagError(ValueError):
    """A flag value that cannot be used (exit status 2)."""


def register(sub) -> None:
    p = sub.add_parser("snapshot", help="save, inspect and restore backend snapshots",
                       description="Backend snapshots, as etcdctl's snapshot commands.")
    actions = p.add_subparsers(dest="snapshot_action", metavar="ACTION", required=True)
    _add_save(actions)
    _add_status(actions)
    _add_restore(actions)
    p.set_defaults(run=run)


def _add_save(actions) -> None:
    p = actions.add_parser("save", help="stream a member's backend snapshot into FILE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--endpoints", default="http://127.0.0.1:2379",
                   help="the one member to take the snapshot from")
    p.add_argument("--dial-timeout", default="2s", help="time to wait for a connection")
    p.add_argument("--cacert", default="", help="CA bundle to verify the member (TLS)")
    p.add_argument("--cert", default="", help="client certificate (TLS)")
    p.add_argument("--key", default="", help="client key (TLS)")


def _add_status(actions) -> None:
    p = actions.add_parser("status", help="check a snapshot file and sum it up")
    p.add_argument("file", metavar="FILE")
    p.add_argument("-w", "--write-out", default="simple",
                   choices=("simple", "table", "json"))


def _add_restore(actions) -> None:
    p = actions.add_parser("restore", help="build a new member's data dir from FILE")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--name", default="default", help="this member's name")
    p.add_argument("--data-dir", default=None,
                   help="the data dir to create (default: ./<name>.raftviz)")
    p.add_argument("--initial-cluster", default=None,
                   help="the new cluster, e.g. n1=http://127.0.0.1:2380,...")
    p.add_argument("--initial-cluster-token", default="etcd-cluster")
    p.add_argument("--initial-advertise-peer-urls", default="http://127.0.0.1:2380")
    p.add_argument("--skip-hash-check", action="store_true",
                   help="accept a db without a SHA-256 trailer (copied from a data dir)")


def run(args: argparse.Namespace) -> int:
    action = {"save": _save, "status": _status, "restore": _restore}[args.snapshot_action]
    try:
        action(args)
    except FlagError as e:
        print(f"{PROG} {args.snapshot_action}: {e}", file=sys.stderr)
        return 2
    except (StorageError, OSError) as e:
        print(f"{PROG} {args.snapshot_action}: {error_line(e)}", file=sys.stderr)
        return 1
    return 0


# --- save ------------------------------------------------------------------------------

def _save(args: argparse.Namespace) -> None:
    endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    if len(endpoints) != 1:
        raise FlagError("snapshot must be requested from exactly one endpoint, got "
                        f"{len(endpoints)}")
    timeout = _seconds(args.dial_timeout, "--dial-timeout")
    channel = _channel(endpoints[0], args)
    try:
        _wait_ready(channel, endpoints[0], timeout)
        stub = rpc_pb2_grpc.MaintenanceStub(channel)
        stream = stub.Snapshot(rpc_pb2.SnapshotRequest())
        try:
            size = save_stream((r.blob for r in stream), args.file)
        except grpc.RpcError as e:
            raise BackupError(f"{endpoints[0]}: {e.details() or e.code().name}") from None
    finally:
        channel.close()
    print(f"Snapshot saved at {args.file} ({size} bytes)")


def _seconds(text: str, flag: str) -> float:
    try:
        value = float(text[:-1] if text.endswith("s") else text)
    except ValueError:
        raise FlagError(f"{flag} must be a duration like 2s, got {text!r}") from None
    if value <= 0:
        raise FlagError(f"{flag} must be positive, got {text!r}")
    return value


def _channel(endpoint: str, args: argparse.Namespace) -> grpc.Channel:
    scheme, sep, target = endpoint.partition("://")
    if not sep:
        scheme, target = "http", endpoint
    if scheme not in ("http", "https") or not target:
        raise FlagError(f"--endpoints: {endpoint!r} is not an http(s) URL")
    if scheme == "http":
        return grpc.insecure_channel(target)
    return grpc.secure_channel(target, grpc.ssl_channel_credentials(
        _file(args.cacert), _file(args.key), _file(args.cert)))


def _file(path: str) -> bytes | None:
    if not path:
        return None
    with open(path, "rb") as f:
        return f.read()


def _wait_ready(channel: grpc.Channel, endpoint: str, timeout: float) -> None:
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise BackupError(f"{endpoint}: no connection within {timeout:g}s") from None


# --- status ----------------------------------------------------------------------------

def _status(args: argparse.Namespace) -> None:
    st = snapshot_status(args.file)
    row = {"hash": f"{st.hash:x}", "revision": st.revision, "totalKey": st.total_keys,
           "totalSize": st.total_size}
    if args.write_out == "json":
        print(json.dumps({**row, "hash": st.hash}))
    elif args.write_out == "table":
        print(_table(["HASH", "REVISION", "TOTAL KEYS", "TOTAL SIZE"],
                     [row["hash"], str(st.revision), str(st.total_keys),
                      _human_size(st.total_size)]))
    else:
        print(f"{row['hash']}, {st.revision}, {st.total_keys}, {_human_size(st.total_size)}")


def _table(headers: list[str], cells: list[str]) -> str:
    widths = [max(len(h), len(c)) + 2 for h, c in zip(headers, cells)]
    rule = "+" + "+".join("-" * w for w in widths) + "+"
    head = "|" + "|".join(h.center(w) for h, w in zip(headers, widths)) + "|"
    body = "|" + "|".join(f" {c:>{w - 2}} " for c, w in zip(cells, widths)) + "|"
    return "\n".join([rule, head, rule, body, rule])


def _human_size(size: int) -> str:
    """Decimal units, as etcdctl prints sizes (go-humanize)."""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


# --- restore ---------------------------------------------------------------------------

def _restore(args: argparse.Namespace) -> None:
    membership = _new_membership(args)
    data_dir = args.data_dir or f"{args.name}.raftviz"
    done = restore_member(args.file, data_dir, args.name, membership,
                          skip_hash_check=args.skip_hash_check)
    print(f"restored revision {done.revision} (index {done.index}) into {done.data_dir}"
          f" for member {args.name} ({done.member_id:x}) of cluster {done.cluster_id:x}")


def _new_membership(args: argparse.Namespace) -> Membership:
    advertise = tuple(u.strip() for u in args.initial_advertise_peer_urls.split(",")
                      if u.strip())
    if not advertise:
        raise FlagError("--initial-advertise-peer-urls is empty")
    try:
        initial = parse_initial_cluster(args.initial_cluster or ",".join(
            f"{args.name}={url}" for url in advertise))
    except ValueError as e:
        raise FlagError(str(e)) from None
    if args.name not in initial:
        raise FlagError(f"--initial-cluster has no member named {args.name!r}"
                        f" (it names {', '.join(sorted(initial))})")
    if initial[args.name] != advertise:
        raise FlagError(f"--initial-cluster gives {args.name} the peer URLs"
                        f" {','.join(initial[args.name])}, but"
                        f" --initial-advertise-peer-urls is {','.join(advertise)}")
    return Membership.initial(initial, args.initial_cluster_token)
