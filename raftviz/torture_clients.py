"""Clients of `raftviz torture --live` that record their history for the checkers.

Each client thread does puts with unique values, linearizable gets, deletes and
compare-and-swap txns on a few keys, over etcd's gRPC API, to any member. Every operation
is recorded as an engine.check Operation: invoke and complete stamps from one shared
counter (so real-time order is exact), the request, and the response as the checkers
understand it. An answer that never came, or an error after which the write may still
have happened, is recorded as unknown, as Jepsen records `:info`.
"""

from __future__ import annotations

import itertools
import random
import threading
import time

import grpc

from engine import check as c
from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc

KEYS = [b"t/%02d" % i for i in range(16)]   # many small partitions keep the search tractable
# Codes after which the request surely did not take effect.
DEFINITE = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
            grpc.StatusCode.OUT_OF_RANGE, grpc.StatusCode.NOT_FOUND}


class Clock:
    """Strictly increasing stamps shared by every client thread."""

    def __init__(self) -> None:
        self._next = itertools.count(1)
        self._lock = threading.Lock()

    def stamp(self) -> int:
        with self._lock:
            return next(self._next)


def _kv(x) -> c.KV:
    return c.KV(x.value, x.mod_revision, x.create_revision, x.version, x.lease)


def _read(resp) -> c.Read:
    return c.Read(resp.header.revision, _kv(resp.kvs[0]) if resp.kvs else None)


def pick_member(avoid_until: list[float], now: float, rng: random.Random) -> int | None:
    """A member to ask: one not avoided at `now`, else None."""
    live = [i for i, t in enumerate(avoid_until) if t <= now]
    return rng.choice(live) if live else None


class Recorder:
    def __init__(self, urls: list[str], clients: int, seed: int) -> None:
        self.channels = [grpc.insecure_channel(u.split("://")[-1]) for u in urls]
        self.stubs = [rpc_pb2_grpc.KVStub(channel) for channel in self.channels]
        self.clock = Clock()
        self.ops: list[c.Operation] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, args=(f"c{i}", seed + i),
                                          daemon=True) for i in range(clients)]
        self._values = itertools.count(1)
        self._seen_mod: dict[bytes, int] = {}

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(15)
        for channel in self.channels:
            channel.close()     # before the members stop: no GOAWAY logged at the user

    def _client(self, name: str, seed: int) -> None:
        rng = random.Random(seed)
        avoid_until = [0.0] * len(self.stubs)
        while not self._stop.is_set():
            # Like a real client's balancer, skip for a second a member that just failed:
            # fewer unanswered operations keep the linearizability search decidable.
            which = pick_member(avoid_until, time.monotonic(), rng)
            if which is None:
                # Every member failed within the second: wait for the first to be tried
                # again. Asking one anyway would let a killed member's instant refusals
                # pile up a thousand unanswered operations a second per client.
                self._stop.wait(min(avoid_until) - time.monotonic())
                continue
            request = self._choose(rng)
            invoke = self.clock.stamp()
            response = self._call(self.stubs[which], request)
            if response is None:
                avoid_until[which] = time.monotonic() + 1.0
            complete = None if response is None else self.clock.stamp()
            with self._lock:
                self.ops.append(c.Operation(len(self.ops), name, invoke, complete,
                                            request, response))
                if isinstance(response, c.Read):
                    self._seen_mod[request.key] = response.kv.mod if response.kv else 0

    def _choose(self, rng: random.Random):
        key = rng.choice(KEYS)
        roll = rng.random()
        if roll < 0.4:
            return c.Put(key, b"v%d" % next(self._values))
        if roll < 0.75:
            return c.Get(key)
        if roll < 0.85:
            return c.Delete(key)
        mod = self._last_mod(key)
        return c.Txn((c.Compare(key, "mod", "=", mod),),
                     (c.Put(key, b"cas%d" % next(self._values)),), (c.Get(key),))

    def _last_mod(self, key: bytes) -> int:
        """The mod revision this client family last read for key: the CAS's guess."""
        return self._seen_mod.get(key, 0)

    def _call(self, stub, request):
        try:
            return self._send(stub, request)
        except grpc.RpcError as e:
            if e.code() in DEFINITE:
                return c.Failed(e.details() or str(e.code()), definite=True)
            return None   # timed out or the member went away: it may have happened

    @staticmethod
    def _send(stub, request):
        t = 3.0
        if isinstance(request, c.Put):
            r = stub.Put(rpc_pb2.PutRequest(key=request.key, value=request.value), timeout=t)
            return c.Written(r.header.revision)
        if isinstance(request, c.Get):
            return _read(stub.Range(rpc_pb2.RangeRequest(key=request.key), timeout=t))
        if isinstance(request, c.Delete):
            r = stub.DeleteRange(rpc_pb2.DeleteRangeRequest(key=request.key), timeout=t)
            return c.Written(r.header.revision, r.deleted)
        return _txn(stub, request, t)


def _txn(stub, request: c.Txn, timeout: float) -> c.TxnResult:
    cmp = request.compare[0]
    compare = rpc_pb2.Compare(key=cmp.key, target=rpc_pb2.Compare.MOD,
                              result=rpc_pb2.Compare.EQUAL, mod_revision=cmp.operand)
    put = request.success[0]
    r = stub.Txn(rpc_pb2.TxnRequest(
        compare=[compare],
        success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=put.key,
                                                                   value=put.value))],
        failure=[rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=cmp.key))]),
        timeout=timeout)
    reads = ()
    if not r.succeeded:
        kvs = r.responses[0].response_range.kvs
        reads = (_kv(kvs[0]) if kvs else None,)
    return c.TxnResult(r.succeeded, r.header.revision, reads)


def store_history(url: str, timeout: float = 10.0) -> c.StoreHistory:
    """Every change since revision 1, as a watch from revision 1 sees it."""
    channel = grpc.insecure_channel(url.split("://")[-1])
    kv = rpc_pb2_grpc.KVStub(channel)
    current = kv.Range(rpc_pb2.RangeRequest(key=b"\0", range_end=b"\0", count_only=True),
                       timeout=timeout).header.revision
    events: list[c.StoreEvent] = []
    if current > 1:
        done = threading.Event()

        def requests():
            yield rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
                key=b"\0", range_end=b"\0", start_revision=1))
            done.wait(timeout)   # closing our side would end the stream (as in etcd)

        stream = rpc_pb2_grpc.WatchStub(channel).Watch(requests(), timeout=timeout)
        for resp in stream:
            for e in resp.events:
                kind = c.DELETE if e.type == 1 else c.PUT
                events.append(c.StoreEvent(e.kv.mod_revision, e.kv.key, kind, e.kv.value,
                                           e.kv.lease))
            if events and events[-1].revision >= current:
                stream.cancel()
                break
        done.set()
    channel.close()
    return c.StoreHistory(tuple(events), complete_from=1, current=current)
