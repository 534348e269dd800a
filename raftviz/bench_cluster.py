"""`raftviz bench cluster`: raftviz against etcd 3.4, same machine, same load, same run.

Starts a 3-member raftviz (one process per member) and a 3-member etcd with the same
heartbeat and election settings on loopback, then drives each with the same closed-loop
gRPC load: several client processes (`raftviz.bench_load`) keeping requests in flight over
all endpoints, 256-byte values. Puts first, then linearizable reads. Prints requests/s,
p50 and p99 for each, and the ratio raftviz/etcd.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from .cmd_up import free_ports
from .errors import error_line
from .status import leader_of, query_status

ETCD = "/usr/bin/etcd"


@dataclass
class Figures:
    rate: float
    p50: float
    p99: float
    errors: int


def register(targets) -> None:
    p = targets.add_parser("cluster", help="raftviz against etcd 3.4 under the same gRPC load",
                           description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=8.0, help="per measurement (default 8)")
    p.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    p.add_argument("--concurrency", type=int, default=128,
                   help="requests in flight per client process (default 128)")
    p.add_argument("--etcd", default=ETCD, help="etcd binary (default /usr/bin/etcd)")
    p.set_defaults(run=run)


class Cluster:
    """Three member processes on loopback; subclasses say how to start one."""

    def __init__(self, workdir: str) -> None:
        self.dir = workdir
        ports = free_ports(6)
        self.peer, self.client = ports[:3], ports[3:]
        self.urls = [f"http://127.0.0.1:{p}" for p in self.client]
        self.initial = ",".join(f"m{i + 1}=http://127.0.0.1:{p}"
                                for i, p in enumerate(self.peer))
        self.procs: list[subprocess.Popen] = []

    def common_flags(self, i: int) -> list[str]:
        return ["--name", f"m{i + 1}", "--data-dir", os.path.join(self.dir, f"m{i + 1}"),
                "--listen-client-urls", self.urls[i], "--advertise-client-urls", self.urls[i],
                "--listen-peer-urls", f"http://127.0.0.1:{self.peer[i]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer[i]}",
                "--initial-cluster", self.initial, "--initial-cluster-token", "bench",
                "--heartbeat-interval", "100", "--election-timeout", "1000"]

    def start(self, command) -> None:
        for i in range(3):
            log = open(os.path.join(self.dir, f"m{i + 1}.log"), "wb")
            self.procs.append(subprocess.Popen(command(i) + self.common_flags(i),
                                               stdout=log, stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 30
        while not leader_of(query_status(self.urls, timeout=0.5)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"no leader within 30 s; logs in {self.dir}")
            time.sleep(0.1)

    def stop(self) -> None:
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()


def measure(urls: list[str], op: str, args) -> Figures:
    cmd = [sys.executable, "-m", "raftviz.bench_load", "--endpoints", ",".join(urls),
           "--op", op, "--seconds", str(args.seconds),
           "--concurrency", str(args.concurrency)]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE) for _ in range(args.clients)]
    results = [json.loads(p.communicate(timeout=args.seconds + 60)[0]) for p in procs]
    latencies = sorted(l for r in results for l in r["latencies"])
    if not latencies:
        return Figures(0.0, 0.0, 0.0, sum(r["errors"] for r in results))
    elapsed = max(r["elapsed"] for r in results)
    return Figures(len(latencies) / elapsed, latencies[len(latencies) // 2],
                   latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
                   sum(r["errors"] for r in results))


def bench(name: str, start, args, workdir: str) -> dict[str, Figures]:
    cluster = Cluster(os.path.join(workdir, name))
    os.makedirs(cluster.dir)
    print(f"starting 3-member {name} ...", file=sys.stderr, flush=True)
    try:
        cluster.start(start)
        out = {}
        for op in ("put", "get"):
            print(f"  {name}: {op} for {args.seconds:g} s", file=sys.stderr, flush=True)
            out[op] = measure(cluster.urls, op, args)
        return out
    finally:
        cluster.stop()


def report(raftviz: dict[str, Figures], etcd: dict[str, Figures]) -> str:
    lines = [f"{'load':<22}{'system':<10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
             f"{'errors':>8}"]
    for op, label in (("put", "put (256 B)"), ("get", "linearizable get")):
        for system, figures in (("raftviz", raftviz[op]), ("etcd", etcd[op])):
            f = figures
            lines.append(f"{label:<22}{system:<10}{f.rate:>10.0f}{f.p50:>10.1f}{f.p99:>10.1f}"
                         f"{f.errors:>8}")
        ratio = raftviz[op].rate / etcd[op].rate if etcd[op].rate else float("nan")
        lines.append(f"{'':<22}{'ratio':<10}{ratio:>10.2f}  (raftviz/etcd throughput)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    if not os.access(args.etcd, os.X_OK):
        print(f"raftviz: error: etcd not found at {args.etcd} "
              "(apt-get install etcd-server, or pass --etcd)", file=sys.stderr)
        return 2
    workdir = tempfile.mkdtemp(prefix="raftviz-bench-")
    try:
        ours = bench("raftviz", lambda i: [sys.executable, "-m", "raftviz", "node"], args,
                     workdir)
        theirs = bench("etcd", lambda i: [args.etcd], args, workdir)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        print(f"raftviz: error: {error_line(e)}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(report(ours, theirs))
    return 0
