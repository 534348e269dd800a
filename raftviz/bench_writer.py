"""The open-loop writer of `raftviz bench ui`, run as a process of its own.

    python -m raftviz.bench_writer --endpoints A,B,C --rate 1000 --seconds 8

Put number i (`bench/k{i % 50}` = `{i}`) is sent at start + i / rate whether or not
earlier ones were answered (late ones at once), over the endpoints in turn, until the
seconds are over; answers are timed in gRPC's callback threads. Prints one JSON line:
when it started, writes sent, answer times, errors, and (write, revision, answered at)
for every SAMPLE_EVERY-th write. Times are time.monotonic(), the system-wide
CLOCK_MONOTONIC on Linux, so the interface process can compare them with its frames.
A process of its own, as real clients are: in the interface's process its thousand
callbacks a second competed with the screen for the interpreter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import grpc

from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc

KEYS = 50
SAMPLE_EVERY = 10
PUT_TIMEOUT_S = 5.0
DRAIN_S = 1.0            # answers still awaited after the last write


class Writer:
    def __init__(self, endpoints: list[str], rate: float, seconds: float) -> None:
        self.rate, self.seconds = rate, seconds
        self.channels = [grpc.insecure_channel(e) for e in endpoints]
        self.stubs = [rpc_pb2_grpc.KVStub(c) for c in self.channels]
        self.acks: list[float] = []
        self.samples: list[tuple[int, int, float]] = []
        self.errors: list[str] = []
        self.sent = 0
        self.start_at = 0.0

    def run(self) -> dict:
        self.start_at = time.monotonic()
        end = self.start_at + self.seconds
        while True:
            due, now = self.start_at + self.sent / self.rate, time.monotonic()
            if due >= end or now >= end:
                break
            if due > now:
                time.sleep(due - now)
            self.put(self.sent)
            self.sent += 1
        return self.finish()

    def put(self, i: int) -> None:
        request = rpc_pb2.PutRequest(key=b"bench/k%d" % (i % KEYS), value=b"%d" % i)
        future = self.stubs[i % len(self.stubs)].Put.future(request, timeout=PUT_TIMEOUT_S)
        future.add_done_callback(lambda f: self.answered(i, f))

    def answered(self, i: int, future) -> None:
        at = time.monotonic()
        if future.code() is not grpc.StatusCode.OK:
            self.errors.append(future.code().name)
            return
        self.acks.append(at)
        if i % SAMPLE_EVERY == 0:
            self.samples.append((i, future.result().header.revision, at))

    def finish(self) -> dict:
        """Wait DRAIN_S at most for the last answers, then close the channels (which
        cancels what is still unanswered)."""
        deadline = time.monotonic() + DRAIN_S
        while len(self.acks) + len(self.errors) < self.sent and time.monotonic() < deadline:
            time.sleep(0.05)
        unanswered = self.sent - len(self.acks) - len(self.errors)
        for channel in self.channels:
            channel.close()
        return {"start_at": self.start_at, "sent": self.sent, "acks": sorted(self.acks),
                "errors": self.errors, "unanswered": unanswered,
                "samples": sorted(self.samples)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m raftviz.bench_writer",
                                description=__doc__.splitlines()[0])
    p.add_argument("--endpoints", required=True, help="host:port,host:port,...")
    p.add_argument("--rate", type=float, required=True, help="writes per second")
    p.add_argument("--seconds", type=float, required=True)
    a = p.parse_args(argv)
    if a.rate <= 0 or a.seconds <= 0:
        p.error("--rate and --seconds must be positive")
    result = Writer(a.endpoints.split(","), a.rate, a.seconds).run()
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
