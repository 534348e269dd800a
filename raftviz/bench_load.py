"""A closed-loop gRPC load client for `raftviz bench cluster` (run as a process of its own).

    python -m raftviz.bench_load --endpoints A,B,C --op put --concurrency 128 --seconds 8

Keeps `concurrency` requests in flight, spread round-robin over one channel per endpoint,
and prints one JSON line: completed requests, errors, elapsed seconds and latencies (ms).
It speaks etcd's API only, so it measures raftviz and etcd alike.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import sys
import time

import grpc

from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc


async def worker(stubs, op: str, value: bytes, deadline: float, counter, out: dict) -> None:
    for n in counter:
        if time.perf_counter() >= deadline:
            return
        stub = stubs[n % len(stubs)]
        key = b"bench/%08d" % (n % 100_000)
        start = time.perf_counter()
        try:
            if op == "put":
                await stub.Put(rpc_pb2.PutRequest(key=key, value=value), timeout=10)
            else:
                await stub.Range(rpc_pb2.RangeRequest(key=key), timeout=10)
            out["latencies"].append((time.perf_counter() - start) * 1000)
        except grpc.aio.AioRpcError:
            out["errors"] += 1


async def run(endpoints: list[str], op: str, concurrency: int, seconds: float,
              value_size: int) -> dict:
    channels = [grpc.aio.insecure_channel(e.split("://")[-1]) for e in endpoints]
    stubs = [rpc_pb2_grpc.KVStub(c) for c in channels]
    out = {"latencies": [], "errors": 0}
    counter = itertools.count(os.getpid() * 1_000_000)
    start = time.perf_counter()
    await asyncio.gather(*(worker(stubs, op, b"x" * value_size, start + seconds, counter, out)
                           for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    for c in channels:
        await c.close()
    return {"completed": len(out["latencies"]), "errors": out["errors"],
            "elapsed": elapsed, "latencies": out["latencies"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="raftviz.bench_load")
    p.add_argument("--endpoints", required=True)
    p.add_argument("--op", choices=("put", "get"), default="put")
    p.add_argument("--concurrency", type=int, default=128)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--value-size", type=int, default=256)
    a = p.parse_args(argv)
    result = asyncio.run(run(a.endpoints.split(","), a.op, a.concurrency, a.seconds,
                             a.value_size))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
