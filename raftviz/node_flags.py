"""`raftviz node`'s flags, named and defaulted as etcd 3.4 names them.

Turns the command line into a ServerConfig plus the client listen addresses, with one
clear line for anything wrong (a bad URL, an unknown member name, a data dir that cannot
be used). Binds 127.0.0.1 unless an address is given.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass

from engine.runtime.membership import Membership, parse_initial_cluster
from engine.runtime.server import DEFAULT_MAX_REQUEST_BYTES, ServerConfig
from engine.runtime.transport import parse_host_port


@dataclass
class NodeSettings:
    server: ServerConfig
    client_listen: list[tuple[str, int]]
    tls: dict[str, str]
    control: bool = False


def add_node_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default="default", help="human-readable name of this member")
    p.add_argument("--data-dir", default=None, help="path to the data directory "
                   "(default: ./<name>.raftviz)")
    p.add_argument("--listen-client-urls", default="http://127.0.0.1:2379",
                   help="comma-separated URLs to serve clients on")
    p.add_argument("--advertise-client-urls", default=None,
                   help="client URLs to announce to the cluster (default: the listen URLs)")
    p.add_argument("--listen-peer-urls", default="http://127.0.0.1:2380",
                   help="URL to listen on for peer traffic")
    p.add_argument("--initial-advertise-peer-urls", default=None,
                   help="peer URLs to announce (default: the listen peer URLs)")
    p.add_argument("--initial-cluster", default=None,
                   help="initial cluster configuration, e.g. n1=http://127.0.0.1:2380,...")
    p.add_argument("--initial-cluster-state", choices=("new", "existing"), default="new")
    p.add_argument("--initial-cluster-token", default="etcd-cluster")
    p.add_argument("--heartbeat-interval", type=int, default=100, metavar="MS")
    p.add_argument("--election-timeout", type=int, default=1000, metavar="MS")
    p.add_argument("--snapshot-count", type=int, default=100_000)
    p.add_argument("--quota-backend-bytes", type=int, default=0,
                   help="backend size quota (0 means etcd's default of 2 GiB)")
    p.add_argument("--max-request-bytes", type=int, default=DEFAULT_MAX_REQUEST_BYTES)
    for prefix in ("", "peer-"):
        p.add_argument(f"--{prefix}cert-file", default="")
        p.add_argument(f"--{prefix}key-file", default="")
        p.add_argument(f"--{prefix}trusted-ca-file", default="")
        p.add_argument(f"--{prefix}client-cert-auth", action="store_true")


def _urls(text: str, flag: str) -> tuple[str, ...]:
    urls = tuple(u.strip() for u in text.split(",") if u.strip())
    if not urls:
        raise ValueError(f"{flag} is empty")
    for u in urls:
        try:
            parse_host_port(u)
        except ValueError as e:
            raise ValueError(f"{flag}: {e}") from None
    return urls


def _check_timing(a: argparse.Namespace) -> None:
    if a.heartbeat_interval <= 0:
        raise ValueError("--heartbeat-interval must be positive")
    if a.election_timeout < 5 * a.heartbeat_interval:
        raise ValueError("--election-timeout should be at least 5 times "
                         "--heartbeat-interval")
    if a.snapshot_count <= 0:
        raise ValueError("--snapshot-count must be positive")
    if a.max_request_bytes <= 0:
        raise ValueError("--max-request-bytes must be positive")


def node_settings(a: argparse.Namespace) -> NodeSettings:
    """Validate the flags; raises ValueError with a one-line message."""
    _check_timing(a)
    listen_peer = _urls(a.listen_peer_urls, "--listen-peer-urls")
    advertise_peer = _urls(a.initial_advertise_peer_urls or a.listen_peer_urls,
                           "--initial-advertise-peer-urls")
    listen_client = _urls(a.listen_client_urls, "--listen-client-urls")
    advertise_client = _urls(a.advertise_client_urls or a.listen_client_urls,
                             "--advertise-client-urls")
    initial = parse_initial_cluster(a.initial_cluster or f"{a.name}={advertise_peer[0]}")
    if a.name not in initial:
        raise ValueError(f"--initial-cluster has no member named {a.name!r} "
                         f"(it names {', '.join(sorted(initial))})")
    if initial[a.name] != advertise_peer:
        raise ValueError(f"--initial-cluster gives {a.name} the peer URLs "
                         f"{','.join(initial[a.name])}, but --initial-advertise-peer-urls "
                         f"is {','.join(advertise_peer)}")
    server = ServerConfig(
        name=a.name, data_dir=a.data_dir or f"{a.name}.raftviz",
        membership=Membership.initial(initial, a.initial_cluster_token),
        peer_listen=parse_host_port(listen_peer[0]), client_urls=advertise_client,
        heartbeat_ms=a.heartbeat_interval, election_ms=a.election_timeout,
        snapshot_count=a.snapshot_count,
        quota_backend_bytes=a.quota_backend_bytes or 2 * 1024 ** 3,
        max_request_bytes=a.max_request_bytes,
        new_cluster=a.initial_cluster_state == "new", token=a.initial_cluster_token)
    tls = {k: v for k, v in vars(a).items() if k.endswith(("_file", "cert_auth")) and v}
    _check_tls_files(tls)
    return NodeSettings(server, [parse_host_port(u) for u in listen_client], tls)


def _check_tls_files(tls: dict[str, str]) -> None:
    for key, path in tls.items():
        if key.endswith("_file") and not os.access(path, os.R_OK):
            raise ValueError(f"--{key.replace('_', '-')}: cannot read {path}")
