"""`raftviz up`: a local cluster of one OS process per member, on loopback ports.

Picks free ports, starts `raftviz node` for each member, waits for a leader, prints one
line `endpoints: URL,URL,...` for etcdctl's --endpoints, then shows a short live status
until Ctrl-C stops every member. With --data-dir the cluster's layout (names, ports,
token) is kept in `cluster.json` there, so running `up` again recovers the same cluster,
also after every process was killed with kill -9. Without it, a temporary directory is
used and removed on exit.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass

from .errors import error_line
from .status import leader_of, query_status

LAYOUT = "cluster.json"


@dataclass
class Layout:
    names: list[str]
    peer_ports: list[int]
    client_ports: list[int]
    token: str

    def client_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.client_ports]

    def initial_cluster(self) -> str:
        return ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(self.names, self.peer_ports))


def register(sub) -> None:
    p = sub.add_parser("up", help="start a local cluster, one process per member",
                       description="Start a local raftviz cluster on loopback ports.")
    p.add_argument("--nodes", type=int, default=3, help="members, 1 to 7 (default 3)")
    p.add_argument("--data-dir", default=None,
                   help="keep the cluster here (default: a temporary directory)")
    p.add_argument("--heartbeat-interval", type=int, default=100, metavar="MS")
    p.add_argument("--election-timeout", type=int, default=1000, metavar="MS")
    p.add_argument("--wait", type=float, default=30.0,
                   help="seconds to wait for a leader before giving up")
    p.set_defaults(run=run)


def free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def load_or_create_layout(data_dir: str, nodes: int) -> Layout:
    path = os.path.join(data_dir, LAYOUT)
    if os.path.exists(path):
        try:
            with open(path) as f:
                layout = Layout(**json.load(f))
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path} is not a raftviz cluster layout: {e}") from None
        if len(layout.names) != nodes:
            raise ValueError(f"{data_dir} holds a {len(layout.names)}-member cluster, "
                             f"not {nodes}: drop --nodes or use another --data-dir")
        return layout
    ports = free_ports(2 * nodes)
    layout = Layout([f"n{i + 1}" for i in range(nodes)], ports[:nodes], ports[nodes:],
                    f"raftviz-{os.getpid()}-{int(time.time())}")
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    with open(path, "w") as f:
        json.dump(asdict(layout), f, indent=1)
    return layout


def member_command(layout: Layout, i: int, data_dir: str, args) -> list[str]:
    name = layout.names[i]
    return [sys.executable, "-m", "raftviz", "node", "--name", name,
            "--data-dir", os.path.join(data_dir, name),
            "--listen-client-urls", layout.client_urls()[i],
            "--listen-peer-urls", f"http://127.0.0.1:{layout.peer_ports[i]}",
            "--initial-cluster", layout.initial_cluster(),
            "--initial-cluster-token", layout.token,
            "--heartbeat-interval", str(args.heartbeat_interval),
            "--election-timeout", str(args.election_timeout), "--enable-control"]


def start_members(layout: Layout, data_dir: str, args,
                  only: int | None = None) -> list[subprocess.Popen]:
    """Start every member (or just member `only`), logging to <data dir>/<name>.log."""
    procs = []
    for i, name in enumerate(layout.names):
        if only is not None and i != only:
            continue
        log = open(os.path.join(data_dir, f"{name}.log"), "ab")
        procs.append(subprocess.Popen(member_command(layout, i, data_dir, args),
                                      stdout=log, stderr=log, stdin=subprocess.DEVNULL))
    return procs


def stop_members(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 5
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def wait_for_leader(layout: Layout, procs, data_dir: str, timeout: float,
                    stopping: threading.Event | None = None) -> bool:
    """True once a member leads; False if told to stop first."""
    stopping = stopping or threading.Event()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping.is_set():
        dead = [(layout.names[i], p.returncode) for i, p in enumerate(procs)
                if p.poll() is not None]
        if dead:
            name, code = dead[0]
            raise RuntimeError(f"member {name} exited with status {code}; see "
                               f"{os.path.join(data_dir, name + '.log')}")
        if leader_of(query_status(layout.client_urls(), timeout=0.5)):
            return True
        stopping.wait(0.1)
    if stopping.is_set():
        return False
    raise RuntimeError(f"no leader after {timeout:g}s; see the logs in {data_dir}")


def status_line(layout: Layout, procs) -> str:
    statuses = query_status(layout.client_urls(), timeout=0.5)
    parts = []
    for name, p, st in zip(layout.names, procs, statuses):
        if p.poll() is not None:
            parts.append(f"{name}: down")
        elif st is None:
            parts.append(f"{name}: no answer")
        else:
            role = "leader" if st.leader == st.header.member_id else "follower"
            parts.append(f"{name}: {role} term {st.raftTerm} commit {st.raftIndex}")
    return " | ".join(parts)


def watch_status(layout: Layout, procs, stopping: threading.Event) -> None:
    tty = sys.stderr.isatty()
    last = ""
    while not stopping.is_set():
        line = status_line(layout, procs)
        if tty:
            sys.stderr.write("\r\033[K" + line)
            sys.stderr.flush()
        elif line != last:
            print(line, file=sys.stderr, flush=True)
        last = line
        stopping.wait(1)


def stop_on_signals() -> threading.Event:
    """Ctrl-C and SIGTERM both stop the cluster, even when started from a shell or a CI
    job that had SIGINT ignored (background jobs inherit that). The handler only notes
    it: raised from the handler, a KeyboardInterrupt could land inside a lock's `with`
    in gRPC's code, between its acquire and its release, and `up` then failed with
    "cannot release un-acquired lock" instead of stopping."""
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    return stopping


def run(args: argparse.Namespace) -> int:
    stopping = stop_on_signals()
    if not 1 <= args.nodes <= 7:
        print("raftviz up: --nodes must be between 1 and 7", file=sys.stderr)
        return 2
    temporary = args.data_dir is None
    data_dir = tempfile.mkdtemp(prefix="raftviz-") if temporary else args.data_dir
    procs: list[subprocess.Popen] = []
    try:
        layout = load_or_create_layout(data_dir, args.nodes)
        procs = start_members(layout, data_dir, args)
        if wait_for_leader(layout, procs, data_dir, args.wait, stopping):
            print("endpoints: " + ",".join(layout.client_urls()), flush=True)
            watch_status(layout, procs, stopping)
        print("\nstopping the cluster", file=sys.stderr)
        return 0
    except (ValueError, RuntimeError, OSError) as e:
        print(f"raftviz up: {error_line(e)}", file=sys.stderr)
        return 1
    finally:
        stop_members(procs)
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
