"""What watching a live cluster costs its members, with no screen drawn: part by part.

    python bench/observer_cost.py [--rounds 10] [--seconds 3]
        [--parts none,observe,mirror,backend,unshown]

`raftviz bench ui` finds the cluster's closed-loop puts slower while the interface is
attached, and sets that against a busy loop taking the interface's CPU. This tells the
rest apart: what the members themselves do for whoever watches them. On a fresh local
3-member cluster (as `raftviz` starts one), for each part, closed-loop phases
(raftviz.bench_load, 64 puts in flight) without and with that part attached alternate,
bare first and last; each phase with it is set against the mean of the bare phases
either side, and the median and mean of those slowdowns are printed, with the CPU this
process took meanwhile (on a small machine that alone slows the members). Parts:

  none     nothing attached: the spread of the method itself
  observe  every member's Observe stream (raftviz.Control), read and dropped
  mirror   one watch of every key on the first member, as the keyspace mirror keeps
  backend  the interface's LiveBackend as `raftviz` attaches it, without the app
  unshown  the same, told that no tab shows the keyspace (the cluster and messages tabs):
           its mirror pauses and nothing of the keyspace is read
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
from typing import Callable

import grpc

from engine.runtime.control import ControlClient
from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from raftviz.bench_ui import closed_loop
from raftviz.live import LEADER_WAIT_S, LiveBackend
from raftviz.live_procs import LocalCluster

CONCURRENCY = 64
PARTS = ("none", "observe", "mirror", "backend", "unshown")


class Streams:
    """gRPC response streams, each read to its end on a thread of its own."""

    def __init__(self) -> None:
        self.calls: list = []
        self.closing = threading.Event()

    def read(self, call) -> None:
        self.calls.append(call)
        threading.Thread(target=self._drain, args=(call,), daemon=True).start()

    def _drain(self, call) -> None:
        try:
            for _ in call:
                pass
        except grpc.RpcError:
            pass        # cancelled by close()

    def requests(self, first):
        """A request stream that sends `first` and stays open until close()."""
        yield first
        self.closing.wait()

    def close(self) -> None:
        self.closing.set()
        for call in self.calls:
            call.cancel()


def attach(part: str, urls: list[str]) -> Callable[[], None]:
    """Attach one part; the function that detaches it."""
    if part in ("backend", "unshown"):
        backend = LiveBackend(urls, control=True)
        backend.show_keyspace(part == "backend")
        backend.wait_for(lambda v: v.leader() is not None, 10.0)
        return backend.close
    streams = Streams()
    if part == "observe":
        clients = [ControlClient(url) for url in urls]
        for client in clients:
            streams.read(client.observe())
    if part == "mirror":
        channel = grpc.insecure_channel(urls[0].split("://")[-1])
        every_key = rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
            key=b"\0", range_end=b"\0"))
        streams.read(rpc_pb2_grpc.WatchStub(channel).Watch(streams.requests(every_key)))
    return streams.close


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def measure(part: str, urls: list[str], rounds: int, seconds: float) -> str:
    rates = [closed_loop(urls, seconds, CONCURRENCY).rate]
    used = 0.0
    for _ in range(rounds):
        detach = attach(part, urls)
        try:
            before = cpu_seconds()
            rates.append(closed_loop(urls, seconds, CONCURRENCY).rate)
            used += cpu_seconds() - before
        finally:
            detach()
        rates.append(closed_loop(urls, seconds, CONCURRENCY).rate)
    slowdowns = [1 - rates[i] / ((rates[i - 1] + rates[i + 1]) / 2)
                 for i in range(1, len(rates) - 1, 2)]
    bare = statistics.median(rates[::2])
    return (f"{part:<8} {100 * statistics.median(slowdowns):>7.1f}% "
            f"{100 * statistics.mean(slowdowns):>7.1f}% {bare:>9.0f} "
            f"{used / (rounds * seconds):>7.2f}   "
            + " ".join(f"{100 * s:.0f}" for s in slowdowns))


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=10, help="phases with each part (default 10)")
    p.add_argument("--seconds", type=float, default=3.0, help="per phase (default 3)")
    p.add_argument("--parts", default=",".join(PARTS),
                   help=f"comma-separated, of {', '.join(PARTS)} (default all)")
    args = p.parse_args(argv)
    parts = [x.strip() for x in args.parts.split(",") if x.strip()]
    unknown = [x for x in parts if x not in PARTS]
    if unknown or not parts or args.rounds < 1 or args.seconds <= 0:
        p.error(f"parts are {', '.join(PARTS)}; --rounds and --seconds must be positive"
                + (f" (not {', '.join(unknown)})" if unknown else ""))
    cluster = LocalCluster(3, None, 100, 1000)
    try:
        cluster.start(LEADER_WAIT_S)
        urls = cluster.client_urls()
        print(f"{'part':<8} {'median':>8} {'mean':>8} {'bare/s':>9} {'cores':>7}   "
              "slowdown in each round (%)")
        for part in parts:
            print(measure(part, urls, args.rounds, args.seconds), flush=True)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
