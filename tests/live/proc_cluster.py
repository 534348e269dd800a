"""Test helper: a live cluster of real `raftviz node` processes on loopback, and a
writer that records which writes were acknowledged."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time

import grpc

from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from raftviz.cmd_up import free_ports
from raftviz.status import leader_of, query_status


class ProcCluster:
    def __init__(self, tmp_path, n: int = 3, prefix: str = "n",
                 heartbeat_ms: int = 20, election_ms: int = 200,
                 extra_args: tuple[str, ...] = (), scheme: str = "http") -> None:
        self.dir = tmp_path
        self.extra_args = list(extra_args)
        self.names = [f"{prefix}{i + 1}" for i in range(n)]
        self.timing = [str(heartbeat_ms), str(election_ms)]
        ports = free_ports(2 * n)
        self.peer, self.client = ports[:n], ports[n:]
        self.urls = [f"{scheme}://127.0.0.1:{p}" for p in self.client]
        self.peer_scheme = scheme
        self.scheme, self.prefix = scheme, prefix
        self.joining: set[int] = set()
        self.procs: dict[str, subprocess.Popen] = {}

    def add_joiner(self) -> int:
        """Name and ports for one more member, started (`start`) with
        --initial-cluster-state existing once the cluster added it; its index."""
        peer, client = free_ports(2)
        self.names.append(f"{self.prefix}{len(self.names) + 1}")
        self.peer.append(peer)
        self.client.append(client)
        self.urls.append(f"{self.scheme}://127.0.0.1:{client}")
        self.joining.add(len(self.names) - 1)
        return len(self.names) - 1

    def peer_url(self, i: int) -> str:
        return f"{self.peer_scheme}://127.0.0.1:{self.peer[i]}"

    def command(self, i: int) -> list[str]:
        initial = ",".join(f"{n}={self.peer_scheme}://127.0.0.1:{p}"
                           for n, p in zip(self.names, self.peer))
        return [sys.executable, "-m", "raftviz", "node", "--name", self.names[i],
                "--data-dir", str(self.dir / self.names[i]),
                "--listen-client-urls", self.urls[i],
                "--listen-peer-urls", f"{self.peer_scheme}://127.0.0.1:{self.peer[i]}",
                "--initial-cluster", initial, "--initial-cluster-token", "live-test",
                "--heartbeat-interval", self.timing[0], "--election-timeout", self.timing[1],
                "--enable-control", *self.extra_args,
                *(["--initial-cluster-state", "existing"] if i in self.joining else [])]

    def start(self, i: int) -> None:
        log = open(self.dir / f"{self.names[i]}.log", "ab")
        self.procs[self.names[i]] = subprocess.Popen(self.command(i), stdout=log, stderr=log)

    def start_all(self) -> None:
        for i in range(len(self.names)):
            self.start(i)

    def signal(self, i: int, sig: int) -> None:
        os.kill(self.procs[self.names[i]].pid, sig)

    def kill(self, i: int) -> None:
        self.signal(i, signal.SIGKILL)
        self.procs[self.names[i]].wait()

    def stop_all(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.kill()
            p.wait()

    def wait_serving(self, i: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while query_status([self.urls[i]], timeout=0.5)[0] is None:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.names[i]} does not answer; logs in {self.dir}")
            time.sleep(0.05)

    def leader_index(self, timeout: float = 20) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            statuses = query_status(self.urls, timeout=0.5)
            lead = leader_of(statuses)
            if lead:
                return next(i for i, s in enumerate(statuses)
                            if s is not None and s.header.member_id == lead)
            time.sleep(0.05)
        raise AssertionError(f"no leader within {timeout}s; logs in {self.dir}")


class Writer:
    """Puts unique keys in a loop to random endpoints; remembers what was acked. Like a
    real client's balancer, it avoids for a second an endpoint that just failed."""

    def __init__(self, urls: list[str]) -> None:
        self.stubs = [rpc_pb2_grpc.KVStub(grpc.insecure_channel(u.split("://")[1]))
                      for u in urls]
        self.acked: list[bytes] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        rng = random.Random(1)
        avoid_until = [0.0] * len(self.stubs)
        while not self._stop.is_set():
            key = b"w/%06d" % n
            n += 1
            now = time.monotonic()
            healthy = [i for i, t in enumerate(avoid_until) if t <= now] or [0]
            i = rng.choice(healthy)
            try:
                self.stubs[i].Put(rpc_pb2.PutRequest(key=key, value=b"v"), timeout=2)
                self.acked.append(key)
            except grpc.RpcError:
                self.failed += 1
                avoid_until[i] = time.monotonic() + 1.0

    def __enter__(self) -> Writer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def wait_for(self, count: int, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"only {len(self.acked)} of {count} writes acknowledged")
            time.sleep(0.02)


def read_all(url: str) -> set[bytes]:
    stub = rpc_pb2_grpc.KVStub(grpc.insecure_channel(url.split("://")[1]))
    r = stub.Range(rpc_pb2.RangeRequest(key=b"w/", range_end=b"w0", keys_only=True),
                   timeout=10)
    return {kv.key for kv in r.kvs}
