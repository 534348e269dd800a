"""A real 3-node etcd 3.4 cluster for tests: free loopback ports, temporary data dirs, fast
elections, bounded start and teardown.

`etcd_cluster()` is a context manager yielding an `EtcdCluster` (client endpoints in member
order node1..nodeN); `require_etcd()` skips the calling test when etcd 3.4 is not installed.
Every process is terminated, then killed, and the data dirs removed, whatever happens.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

ETCD = "/usr/bin/etcd"
ETCDCTL = "/usr/bin/etcdctl"
INSTALL_HINT = "etcd 3.4 not installed: apt-get install etcd-server etcd-client"
HOST = "127.0.0.1"
HEARTBEAT_MS = 100
ELECTION_MS = 1000
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 2.0   # followers of a stopped leader linger ~7 s; no need to wait


@dataclass
class EtcdCluster:
    names: list[str]
    endpoints: list[str]          # client URLs, same order as names
    peer_urls: list[str]
    root: Path                    # data dirs and logs live under here
    procs: list[subprocess.Popen] = field(default_factory=list)

    def logs(self) -> str:
        """The tail of every member's log, for failure messages."""
        parts = []
        for name in self.names:
            text = (self.root / f"{name}.log").read_text(errors="replace")
            parts.append(f"--- {name}\n{text[-3000:]}")
        return "\n".join(parts)


def require_etcd() -> None:
    if not (os.access(ETCD, os.X_OK) and os.access(ETCDCTL, os.X_OK)):
        pytest.skip(INSTALL_HINT)


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out on loopback (all distinct, all closed again)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def clean_env() -> dict[str, str]:
    """Our environment without ETCD_*/ETCDCTL_* variables that would override flags."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("ETCD_", "ETCDCTL_"))}


def member_args(cluster: EtcdCluster, i: int, token: str) -> list[str]:
    name, client, peer = cluster.names[i], cluster.endpoints[i], cluster.peer_urls[i]
    initial = ",".join(f"{n}={p}" for n, p in zip(cluster.names, cluster.peer_urls))
    return [
        ETCD, "--name", name, "--data-dir", str(cluster.root / name),
        "--listen-client-urls", client, "--advertise-client-urls", client,
        "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
        "--initial-cluster", initial, "--initial-cluster-state", "new",
        "--initial-cluster-token", token,
        "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_MS),
        "--logger", "zap", "--log-outputs", "stderr",
    ]


def die_with_parent() -> None:
    """In the child, before exec: get SIGKILL if the test process dies (Linux only), so a
    killed test run never leaves etcd members behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def start_members(cluster: EtcdCluster) -> None:
    token = f"raftviz-test-{uuid.uuid4().hex[:12]}"
    for i, name in enumerate(cluster.names):
        log = open(cluster.root / f"{name}.log", "wb")
        with log:
            proc = subprocess.Popen(member_args(cluster, i, token), stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, env=clean_env(),
                                    start_new_session=True, preexec_fn=die_with_parent)
        cluster.procs.append(proc)


def etcdctl_json(endpoints: list[str], *args: str, timeout: float = 3.0) -> dict | None:
    """Run one etcdctl command with `-w json`; None when it fails or times out."""
    cmd = [ETCDCTL, f"--endpoints={','.join(endpoints)}", "--dial-timeout=1s",
           "--command-timeout=2s", "-w", "json", *args]
    env = clean_env() | {"ETCDCTL_API": "3"}
    try:
        out = subprocess.run(cmd, capture_output=True, timeout=timeout, env=env, text=True)
    except subprocess.TimeoutExpired:
        return None
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.splitlines()[0])


def is_ready(cluster: EtcdCluster) -> bool:
    """Every member answers, agrees on one leader, and has published its name and URLs."""
    leaders = set()
    for endpoint in cluster.endpoints:
        status = etcdctl_json([endpoint], "endpoint", "status")
        if status is None:
            return False
        leaders.add(status[0]["Status"]["leader"])
    if len(leaders) != 1 or 0 in leaders:
        return False
    listing = etcdctl_json(cluster.endpoints[:1], "member", "list")
    members = listing["members"] if listing else []
    return len(members) == len(cluster.names) and all(
        m.get("name") and m.get("clientURLs") for m in members)


def wait_ready(cluster: EtcdCluster, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p.args[2] for p in cluster.procs if p.poll() is not None]
        if dead:
            raise RuntimeError(f"etcd member(s) {dead} exited early\n{cluster.logs()}")
        if is_ready(cluster):
            return
        time.sleep(0.2)
    raise TimeoutError(f"etcd cluster not ready after {timeout}s\n{cluster.logs()}")


def stop_members(cluster: EtcdCluster) -> None:
    """SIGTERM everyone, wait a bounded time, SIGKILL what is left."""
    for proc in cluster.procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for proc in cluster.procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)


def new_cluster(root: Path, size: int) -> EtcdCluster:
    ports = free_ports(2 * size)
    names = [f"node{i + 1}" for i in range(size)]
    clients = [f"http://{HOST}:{p}" for p in ports[:size]]
    peers = [f"http://{HOST}:{p}" for p in ports[size:]]
    return EtcdCluster(names, clients, peers, root)


@contextlib.contextmanager
def etcd_cluster(size: int = 3) -> Iterator[EtcdCluster]:
    """Start a fresh cluster, wait until it is ready, yield it, always tear it down."""
    require_etcd()
    root = Path(tempfile.mkdtemp(prefix="raftviz-etcd-"))
    cluster = new_cluster(root, size)
    try:
        start_members(cluster)
        wait_ready(cluster)
        yield cluster
    finally:
        stop_members(cluster)
        shutil.rmtree(root, ignore_errors=True)
