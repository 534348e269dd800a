"""The client panel on a live cluster: etcdctl-like lines sent over etcd's gRPC API.

Lines are read by the simulator's parser (`engine.sim.ui_client`, pure: it knows the
language, not the simulated world) into keyspace requests, turned into etcd's protobuf
messages here, and sent from a small pool of worker threads, so the interface never waits
on the network: a request's trace says "pending" until its answer arrives. Answers are
printed the way etcdctl prints them. `Channels` keeps one gRPC channel per member.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Callable

import grpc

from engine import kv
from engine.observe import RequestTrace
from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from engine.runtime.tracing import trace_metadata
from engine.sim.ui_client import NO_ALARMS, ClientError, ClientOp
from engine.kv.describe import show

from .live_observe import target

REQUEST_TIMEOUT_S = 5.0        # etcd's clients give a request about this long
TRACES_KEPT = 200
Metadata = tuple[tuple[str, str], ...]
CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100),
                   ("grpc.min_reconnect_backoff_ms", 100),
                   ("grpc.max_reconnect_backoff_ms", 1000)]


class Channels:
    """One channel per client URL, dialling again quickly after a member restarts."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> grpc.Channel:
        with self._lock:
            if url not in self._channels:
                self._channels[url] = grpc.insecure_channel(target(url), CHANNEL_OPTIONS)
            return self._channels[url]

    def kv(self, url: str) -> rpc_pb2_grpc.KVStub:
        return rpc_pb2_grpc.KVStub(self.get(url))

    def lease(self, url: str) -> rpc_pb2_grpc.LeaseStub:
        return rpc_pb2_grpc.LeaseStub(self.get(url))

    def cluster(self, url: str) -> rpc_pb2_grpc.ClusterStub:
        return rpc_pb2_grpc.ClusterStub(self.get(url))

    def maintenance(self, url: str) -> rpc_pb2_grpc.MaintenanceStub:
        return rpc_pb2_grpc.MaintenanceStub(self.get(url))

    def close(self) -> None:
        with self._lock:
            for channel in self._channels.values():
                channel.close()
            self._channels.clear()


def rpc_error_text(error: grpc.RpcError) -> str:
    """etcdctl's way of saying it: `Error: etcdserver: ...`."""
    code = error.code() if hasattr(error, "code") else None
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return "Error: context deadline exceeded"
    if code is grpc.StatusCode.UNAVAILABLE:
        return "Error: the member does not answer (connection refused or lost)"
    details = error.details() if hasattr(error, "details") else str(error)
    return f"Error: {details}"


def split_endpoint(line: str) -> tuple[str, int]:
    """`@2 get k` is `get k` for node 2; 0 means "any node"."""
    line = line.strip()
    if not line.startswith("@"):
        return line, 0
    head, _, rest = line.partition(" ")
    if not head[1:].isdigit():
        raise ClientError(f"{head!r} does not name a node; write e.g. @2")
    return rest.strip(), int(head[1:])


# --- keyspace requests as etcd's messages -----------------------------------------------


def pb_range(r: kv.RangeRequest) -> rpc_pb2.RangeRequest:
    return rpc_pb2.RangeRequest(key=r.key, range_end=r.range_end, limit=r.limit,
                                revision=r.revision, serializable=r.serializable,
                                keys_only=r.keys_only, count_only=r.count_only)


def pb_compare(c: kv.Compare) -> rpc_pb2.Compare:
    # Only the field the target names: they share a oneof in etcd's message.
    field = {kv.CompareTarget.VERSION: "version", kv.CompareTarget.CREATE: "create_revision",
             kv.CompareTarget.MOD: "mod_revision", kv.CompareTarget.VALUE: "value",
             kv.CompareTarget.LEASE: "lease"}[c.target]
    return rpc_pb2.Compare(key=c.key, range_end=c.range_end, target=int(c.target),
                           result=int(c.result), **{field: getattr(c, field)})


def pb_op(r) -> rpc_pb2.RequestOp:
    if isinstance(r, kv.RangeRequest):
        return rpc_pb2.RequestOp(request_range=pb_range(r))
    if isinstance(r, kv.PutRequest):
        return rpc_pb2.RequestOp(request_put=pb_put(r))
    if isinstance(r, kv.DeleteRangeRequest):
        return rpc_pb2.RequestOp(request_delete_range=pb_delete(r))
    return rpc_pb2.RequestOp(request_txn=pb_txn(r))


def pb_put(r: kv.PutRequest) -> rpc_pb2.PutRequest:
    return rpc_pb2.PutRequest(key=r.key, value=r.value, lease=r.lease, prev_kv=r.prev_kv)


def pb_delete(r: kv.DeleteRangeRequest) -> rpc_pb2.DeleteRangeRequest:
    return rpc_pb2.DeleteRangeRequest(key=r.key, range_end=r.range_end, prev_kv=r.prev_kv)


def pb_txn(r: kv.TxnRequest) -> rpc_pb2.TxnRequest:
    return rpc_pb2.TxnRequest(compare=[pb_compare(c) for c in r.compare],
                              success=[pb_op(o) for o in r.success],
                              failure=[pb_op(o) for o in r.failure])


# --- answers as etcdctl prints them -----------------------------------------------------


def _pair(kv_pb) -> str:
    return f"{show(kv_pb.key)}\n{show(kv_pb.value)}"


def format_range(r: rpc_pb2.RangeResponse) -> str:
    if not r.kvs:
        return str(r.count) if r.count else "(no keys)"
    return "\n".join(_pair(x) for x in r.kvs)


def format_put(r: rpc_pb2.PutResponse) -> str:
    return "OK" + (f"\n{_pair(r.prev_kv)}" if r.HasField("prev_kv") else "")


def format_delete(r: rpc_pb2.DeleteRangeResponse) -> str:
    return "\n".join([str(r.deleted)] + [_pair(x) for x in r.prev_kvs])


def format_txn(r: rpc_pb2.TxnResponse) -> str:
    parts = ["SUCCESS" if r.succeeded else "FAILURE"]
    for op in r.responses:
        which = op.WhichOneof("response")
        inner = getattr(op, which)
        parts.append({"response_range": format_range, "response_put": format_put,
                      "response_delete_range": format_delete,
                      "response_txn": format_txn}[which](inner))
    return "\n\n".join(parts)


# --- sending ----------------------------------------------------------------------------


class Requests:
    """Every request sent from the panel, as immutable traces replaced when they finish."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self.clock = clock
        self.traces: dict[str, RequestTrace] = {}
        self.by_revision: dict[int, str] = {}     # which request wrote which revision
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    def start(self, line: str, node: int, path: str) -> RequestTrace:
        trace = RequestTrace(f"r{next(self._ids)}", line, node, self.clock(), "pending",
                             path=path)
        with self._lock:
            self.traces[trace.id] = trace
            while len(self.traces) > TRACES_KEPT:
                del self.traces[next(iter(self.traces))]
        return trace

    def finish(self, request_id: str, answer: str, ok: bool = True, revision: int = 0,
               term: int = 0) -> None:
        with self._lock:
            trace = self.traces.get(request_id)
            if trace is None or trace.status != "pending":
                return
            self.traces[request_id] = replace(
                trace, status="done" if ok else "failed", answer=answer, revision=revision,
                term=trace.term if trace.index else term, finished_at=self.clock())
            if ok and revision and trace.path == "log":
                self.by_revision.setdefault(revision, request_id)

    def amend(self, request_id: str, **fields) -> bool:
        """Change a kept trace (what the logs show of its entry); False if not kept."""
        with self._lock:
            trace = self.traces.get(request_id)
            if trace is not None:
                self.traces[request_id] = replace(trace, **fields)
            return trace is not None

    def watch_event(self, revision: int, text: str) -> str | None:
        """Note on the request that wrote `revision` that a watch saw it; its id."""
        with self._lock:
            request_id = self.by_revision.get(revision)
            if request_id is not None:
                self.add_watch_events(request_id, (text,))
            return request_id

    def add_watch_events(self, request_id: str, texts: tuple[str, ...]) -> None:
        with self._lock:
            trace = self.traces.get(request_id)
            if trace is not None and texts:
                self.traces[request_id] = replace(
                    trace, watch_events=trace.watch_events + texts)

    def views(self, limit: int = 60) -> tuple[RequestTrace, ...]:
        with self._lock:
            return tuple(list(self.traces.values())[-limit:])

    def get(self, request_id: str) -> RequestTrace | None:
        with self._lock:
            return self.traces.get(request_id)


def path_of(op: ClientOp) -> str:
    if op.kind == "write":
        return "log"
    if op.kind == "read":
        return "local" if op.serializable else "read-index"
    return "log" if op.kind in ("alarm", "disarm") else "local"   # alarms: as etcd 3.4


class Sender:
    """Runs keyspace and lease requests on worker threads and finishes their traces.
    Writes name their trace to the member (`tag` makes the name, tracing.py), so its
    entry can be found in every log."""

    def __init__(self, channels: Channels, requests: Requests,
                 tag: Callable[[str], str] = str) -> None:
        self.channels, self.requests, self.tag = channels, requests, tag
        self.pool = ThreadPoolExecutor(4, thread_name_prefix="client")

    def send(self, trace: RequestTrace, op: ClientOp, url: str, leader_url: str | None,
             after: Callable[[str], None]) -> None:
        def work() -> None:
            try:
                named = trace_metadata(self.tag(trace.id))
                answer, revision, term = self.call(op, url, leader_url, named)
                self.requests.finish(trace.id, answer, True, revision, term)
            except grpc.RpcError as exc:
                self.requests.finish(trace.id, rpc_error_text(exc), ok=False)
            except ValueError as exc:
                self.requests.finish(trace.id, f"Error: {exc}", ok=False)
            after(trace.id)
        self.pool.submit(work)

    def call(self, op: ClientOp, url: str, leader_url: str | None,
             named: Metadata = ()) -> tuple[str, int, int]:
        if op.kind in ("keepalive", "ttl", "leases"):
            # The leader's lessor keeps the clocks; any member forwards, but asking the
            # leader directly saves a hop.
            return self.lease_call(op, leader_url or url)
        if op.kind in ("alarm", "disarm"):
            return self.alarm_call(op, url, named)
        request = op.request
        t = REQUEST_TIMEOUT_S
        stub = self.channels.kv(url)
        if isinstance(request, kv.RangeRequest):
            r = stub.Range(pb_range(request), timeout=t)
            return format_range(r), r.header.revision, r.header.raft_term
        if isinstance(request, kv.PutRequest):
            r = stub.Put(pb_put(request), timeout=t, metadata=named)
            return format_put(r), r.header.revision, r.header.raft_term
        if isinstance(request, kv.DeleteRangeRequest):
            r = stub.DeleteRange(pb_delete(request), timeout=t, metadata=named)
            return format_delete(r), r.header.revision, r.header.raft_term
        if isinstance(request, kv.TxnRequest):
            r = stub.Txn(pb_txn(request), timeout=t, metadata=named)
            return format_txn(r), r.header.revision, r.header.raft_term
        if isinstance(request, kv.CompactionRequest):
            r = stub.Compact(rpc_pb2.CompactionRequest(revision=request.revision),
                             timeout=t, metadata=named)
            return f"compacted revision {request.revision}", r.header.revision, \
                r.header.raft_term
        return self.lease_call(op, url, named)

    def lease_call(self, op: ClientOp, url: str,
                   named: Metadata = ()) -> tuple[str, int, int]:
        stub, t, request = self.channels.lease(url), REQUEST_TIMEOUT_S, op.request
        if isinstance(request, kv.LeaseGrantRequest):
            r = stub.LeaseGrant(rpc_pb2.LeaseGrantRequest(TTL=request.ttl, ID=request.id),
                                timeout=t, metadata=named)
            if r.error:
                raise ValueError(r.error)
            return f"lease {r.ID:x} granted with TTL({r.TTL}s)", r.header.revision, \
                r.header.raft_term
        if isinstance(request, kv.LeaseRevokeRequest):
            r = stub.LeaseRevoke(rpc_pb2.LeaseRevokeRequest(ID=request.id), timeout=t,
                                 metadata=named)
            return f"lease {request.id:x} revoked", r.header.revision, r.header.raft_term
        if op.kind == "keepalive":
            return keep_alive_once(stub, op.number)
        if op.kind == "ttl":
            return time_to_live(stub, op.number, op.with_keys)
        r = stub.LeaseLeases(rpc_pb2.LeaseLeasesRequest(), timeout=t)
        lines = [f"found {len(r.leases)} leases"] + [format(x.ID, "x") for x in r.leases]
        return "\n".join(lines), 0, r.header.raft_term

    def alarm_call(self, op: ClientOp, url: str,
                   named: Metadata = ()) -> tuple[str, int, int]:
        """alarm list, or disarm as etcdctl does: list, then deactivate each alarm."""
        stub, t = self.channels.maintenance(url), REQUEST_TIMEOUT_S
        r = stub.Alarm(rpc_pb2.AlarmRequest(action=rpc_pb2.AlarmRequest.GET), timeout=t)
        alarms = list(r.alarms)
        if op.kind == "disarm":
            for a in alarms:
                r = stub.Alarm(rpc_pb2.AlarmRequest(
                    action=rpc_pb2.AlarmRequest.DEACTIVATE, memberID=a.memberID,
                    alarm=a.alarm), timeout=t, metadata=named)
        lines = [f"memberID:{a.memberID} alarm:{rpc_pb2.AlarmType.Name(a.alarm)}"
                 for a in alarms]
        return "\n".join(lines) or NO_ALARMS, r.header.revision, r.header.raft_term

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def keep_alive_once(stub: rpc_pb2_grpc.LeaseStub, lease_id: int) -> tuple[str, int, int]:
    replies = stub.LeaseKeepAlive(iter([rpc_pb2.LeaseKeepAliveRequest(ID=lease_id)]),
                                  timeout=REQUEST_TIMEOUT_S)
    try:
        r = next(replies)
    finally:
        replies.cancel()
    if r.TTL <= 0:
        raise ValueError("etcdserver: requested lease not found")
    return f"lease {r.ID:x} keepalived with TTL({r.TTL})", 0, r.header.raft_term


def time_to_live(stub: rpc_pb2_grpc.LeaseStub, lease_id: int,
                 with_keys: bool) -> tuple[str, int, int]:
    r = stub.LeaseTimeToLive(rpc_pb2.LeaseTimeToLiveRequest(ID=lease_id, keys=with_keys),
                             timeout=REQUEST_TIMEOUT_S)
    if r.TTL == -1:
        return f"lease {lease_id:x} already expired", 0, r.header.raft_term
    text = f"lease {r.ID:x} granted with TTL({r.grantedTTL}s), remaining({r.TTL}s)"
    if with_keys:
        text += ", attached keys([" + " ".join(show(k) for k in r.keys) + "])"
    return text, 0, r.header.raft_term
