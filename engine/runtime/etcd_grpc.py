"""etcd's v3 gRPC services (KV, Lease, Cluster, Maintenance) on a live member.

grpcio runs handlers in worker threads; each handler crosses into the member's trio loop
with `trio.from_thread.run`, does its work there (propose and wait, or read after a
ReadIndex barrier) and crosses back with the result. Keyspace and server errors leave
with etcd's gRPC status code and exact message. The Watch service lives in
etcd_watch.py.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import random
import threading
import zlib
from concurrent.futures import Future, TimeoutError as FutureTimeout

import grpc
import trio

from engine import kv
from engine.raft import StateType

from . import errors_etcd as err
from . import etcd_convert as cv
from .errors import StorageError
from .membership import Member
from .proto import rpc_pb2, rpc_pb2_grpc
from .server import EtcdServer
from .tracing import trace_of

log = logging.getLogger("raftviz.grpc")

VERSION = "3.4.23"     # the etcd API version this server speaks
SNAPSHOT_CHUNK = 32 * 1024


def snapshot_stream_bytes(blob: bytes) -> bytes:
    """What Maintenance.Snapshot streams: the blob padded to 512-byte blocks, then the
    SHA-256 of that, which etcdctl checks before it keeps the file (etcd's layout)."""
    padded = blob + b"\0" * (-len(blob) % 512)
    return padded + hashlib.sha256(padded).digest()


class Bridge:
    """Calls into the member's trio loop from a gRPC worker thread."""

    def __init__(self, server: EtcdServer, token: trio.lowlevel.TrioToken) -> None:
        self.server = server
        self.token = token
        self._channels: dict[str, grpc.Channel] = {}
        self._lock = threading.Lock()

    def run(self, afn, *args):
        return trio.from_thread.run(afn, *args, trio_token=self.token)

    def run_sync(self, fn, *args):
        return trio.from_thread.run_sync(fn, *args, trio_token=self.token)

    def propose(self, request, context=None):
        """Replicate a request from a gRPC worker thread; no trio task per call. The
        entry carries the trace id the call's metadata names, if any (tracing.py)."""
        s = self.server
        future: Future = Future()
        trace = trace_of(context) if context is not None else ""
        self.token.run_sync_soon(s.submit, request, future, trace)
        try:
            return future.result(timeout=s.cfg.request_timeout)
        except FutureTimeout:
            try:
                self.token.run_sync_soon(s.abandon, future)
            except trio.RunFinishedError:
                pass
            raise err.timed_out() if s.lead else err.no_leader() from None

    def read(self, serve, serializable: bool = False):
        """Serve a read on the member's loop: at once if serializable, else after a
        ReadIndex round (linearizable)."""
        s = self.server
        if serializable:
            return self.run_sync(serve)
        future: Future = Future()
        self.token.run_sync_soon(s.submit_read, serve, future)
        return future.result(timeout=s.cfg.request_timeout + 1)

    def header(self) -> cv.Header:
        s = self.server
        return cv.Header(s.membership.cluster_id, s.id, s.term)

    def leader_channel(self) -> grpc.Channel:
        """A channel to the current leader's client URL, for requests only it answers."""
        s = self.server
        leader = s.membership.members.get(s.lead)
        if leader is None or not leader.client_urls:
            raise err.no_leader()
        url = leader.client_urls[0].split("://", 1)[-1]
        with self._lock:
            if url not in self._channels:
                self._channels[url] = grpc.insecure_channel(url)
            return self._channels[url]


def abort_on_error(method):
    """Turn engine errors into gRPC statuses with etcd's code and message."""
    @functools.wraps(method)
    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except (kv.KVError, err.ServerError) as e:
            context.abort(grpc.StatusCode[e.code], str(e))
        except trio.RunFinishedError:
            context.abort(grpc.StatusCode.UNAVAILABLE, "etcdserver: server stopped")
        except ValueError as e:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
    return wrapper


class KVService(rpc_pb2_grpc.KVServicer):
    def __init__(self, bridge: Bridge) -> None:
        self.b = bridge

    @abort_on_error
    def Range(self, request, context):
        req = cv.range_request(request)
        r = self.b.read(lambda: self.b.server.kv.range(req), req.serializable)
        return cv.range_response(r, self.b.header())

    @abort_on_error
    def Put(self, request, context):
        r = self.b.propose(cv.put_request(request), context)
        return cv.put_response(r, self.b.header())

    @abort_on_error
    def DeleteRange(self, request, context):
        r = self.b.propose(cv.delete_request(request), context)
        return cv.delete_response(r, self.b.header())

    @abort_on_error
    def Txn(self, request, context):
        txn = cv.txn_request(request)
        if kv.is_read_only(txn):
            self.b.server.kv.validate(txn)
            r = self.b.read(lambda: self.b.server.kv.read_only_txn(txn))
        else:
            r = self.b.propose(txn, context)
        return cv.txn_response(r, self.b.header())

    @abort_on_error
    def Compact(self, request, context):
        r = self.b.propose(kv.CompactionRequest(request.revision, request.physical),
                           context)
        return rpc_pb2.CompactionResponse(header=self.b.header().pb(r.header.revision))


class LeaseService(rpc_pb2_grpc.LeaseServicer):
    def __init__(self, bridge: Bridge) -> None:
        self.b = bridge
        self.rng = random.SystemRandom()

    @abort_on_error
    def LeaseGrant(self, request, context):
        lease_id = request.ID or kv.pick_lease_id(self.rng)
        r = self.b.propose(kv.LeaseGrantRequest(request.TTL, lease_id), context)
        return rpc_pb2.LeaseGrantResponse(header=self.b.header().pb(r.header.revision),
                                          ID=r.id, TTL=r.ttl)

    @abort_on_error
    def LeaseRevoke(self, request, context):
        r = self.b.propose(kv.LeaseRevokeRequest(request.ID), context)
        return rpc_pb2.LeaseRevokeResponse(header=self.b.header().pb(r.header.revision))

    def _is_leader(self) -> bool:
        return self.b.server.role is StateType.LEADER

    async def _keepalive(self, lease_id: int) -> tuple[int, int]:
        try:
            r = self.b.server.kv.lease_keepalive(lease_id, trio.current_time())
            return r.header.revision, r.ttl
        except kv.KVError as e:
            if e.kind is kv.ErrorKind.LEASE_NOT_FOUND:
                return self.b.server.kv.current_revision, 0   # etcd answers TTL 0
            raise

    def LeaseKeepAlive(self, request_iterator, context):
        for request in request_iterator:
            try:
                yield self._keepalive_one(request)
            except (kv.KVError, err.ServerError) as e:
                context.abort(grpc.StatusCode[e.code], str(e))

    def _keepalive_one(self, request):
        if not self._is_leader():
            stub = rpc_pb2_grpc.LeaseStub(self.b.leader_channel())
            return next(iter(stub.LeaseKeepAlive(iter([request]), timeout=5)))
        revision, ttl = self.b.run(self._keepalive, request.ID)
        return rpc_pb2.LeaseKeepAliveResponse(header=self.b.header().pb(revision),
                                              ID=request.ID, TTL=ttl)

    @abort_on_error
    def LeaseTimeToLive(self, request, context):
        if not self._is_leader():
            stub = rpc_pb2_grpc.LeaseStub(self.b.leader_channel())
            return stub.LeaseTimeToLive(request, timeout=5)

        async def ttl():
            return self.b.server.kv.lease_time_to_live(request.ID, trio.current_time(),
                                                      request.keys)
        r = self.b.run(ttl)
        return rpc_pb2.LeaseTimeToLiveResponse(
            header=self.b.header().pb(r.header.revision), ID=r.id, TTL=r.ttl,
            grantedTTL=r.granted_ttl, keys=list(r.keys))

    @abort_on_error
    def LeaseLeases(self, request, context):
        r = self.b.server.kv.lease_leases()
        return rpc_pb2.LeaseLeasesResponse(
            header=self.b.header().pb(r.header.revision),
            leases=[rpc_pb2.LeaseStatus(ID=i) for i in r.leases])


def member_pb(m: Member) -> rpc_pb2.Member:
    return rpc_pb2.Member(ID=m.id, name=m.name, peerURLs=list(m.peer_urls),
                          clientURLs=list(m.client_urls), isLearner=m.is_learner)


class ClusterService(rpc_pb2_grpc.ClusterServicer):
    def __init__(self, bridge: Bridge) -> None:
        self.b = bridge

    def _members(self) -> list[rpc_pb2.Member]:
        ms = self.b.server.membership.members.values()
        return [member_pb(m) for m in sorted(ms, key=lambda m: m.id)]

    def _header(self):
        return self.b.header().pb(self.b.server.kv.current_revision)

    @abort_on_error
    def MemberList(self, request, context):
        return rpc_pb2.MemberListResponse(header=self._header(), members=self._members())

    @abort_on_error
    def MemberAdd(self, request, context):
        member = self.b.run(self.b.server.member_add, tuple(request.peerURLs),
                            request.isLearner)
        return rpc_pb2.MemberAddResponse(header=self._header(), member=member_pb(member),
                                         members=self._members())

    @abort_on_error
    def MemberRemove(self, request, context):
        self.b.run(self.b.server.member_remove, request.ID)
        return rpc_pb2.MemberRemoveResponse(header=self._header(), members=self._members())

    @abort_on_error
    def MemberUpdate(self, request, context):
        self.b.run(self.b.server.member_update, request.ID, tuple(request.peerURLs))
        return rpc_pb2.MemberUpdateResponse(header=self._header(), members=self._members())

    @abort_on_error
    def MemberPromote(self, request, context):
        if self.b.server.role is not StateType.LEADER:
            stub = rpc_pb2_grpc.ClusterStub(self.b.leader_channel())
            return stub.MemberPromote(request, timeout=10)
        self.b.run(self.b.server.member_promote, request.ID)
        return rpc_pb2.MemberPromoteResponse(header=self._header(), members=self._members())


class MaintenanceService(rpc_pb2_grpc.MaintenanceServicer):
    def __init__(self, bridge: Bridge) -> None:
        self.b = bridge

    def _header(self):
        return self.b.header().pb(self.b.server.kv.current_revision)

    @abort_on_error
    def Alarm(self, request, context):
        # Every action goes through the log, a GET too, as in etcd 3.4: a list asked of any
        # member then sees an alarm another member has already answered for.
        action = kv.AlarmAction(request.action)
        alarm = kv.AlarmType(request.alarm)
        r = self.b.propose(kv.AlarmRequest(action, request.memberID, alarm), context)
        return rpc_pb2.AlarmResponse(header=self._header(), alarms=[
            rpc_pb2.AlarmMember(memberID=m.member_id, alarm=int(m.alarm)) for m in r.alarms])

    @abort_on_error
    def Status(self, request, context):
        s = self.b.server
        st = self.b.run_sync(s.rawnode.status)
        errors = [f"memberID:{m.member_id} alarm:{m.alarm.name}" for m in s.kv.alarms()]
        return rpc_pb2.StatusResponse(
            header=self._header(), version=VERSION, dbSize=s.backend.size_bytes(),
            dbSizeInUse=s.backend.size_in_use_bytes(), leader=st.soft_state.lead,
            raftIndex=st.hard_state.commit, raftTerm=st.hard_state.term,
            raftAppliedIndex=s.applied, errors=errors,
            isLearner=s.id in st.conf_state.learners)

    @abort_on_error
    def Defragment(self, request, context):
        try:
            before, after = self.b.server.backend.defragment()
        except StorageError as e:
            context.abort(grpc.StatusCode.INTERNAL, str(e))
        log.info("member %x: defragmented %d -> %d bytes", self.b.server.id, before, after)
        return rpc_pb2.DefragmentResponse(header=self._header())

    @abort_on_error
    def Hash(self, request, context):
        blob = self.b.run_sync(self.b.server.kv.snapshot)
        return rpc_pb2.HashResponse(header=self._header(), hash=zlib.crc32(blob))

    @abort_on_error
    def HashKV(self, request, context):
        r = self.b.run_sync(self.b.server.kv.hash_kv, request.revision)
        # etcd reports -1 for a store that was never compacted.
        return rpc_pb2.HashKVResponse(header=self.b.header().pb(r.header.revision),
                                      hash=r.hash, compact_revision=r.compact_revision or -1)

    def Snapshot(self, request, context):
        try:
            # Copied through the backend's own connection: the Raft loop goes on meanwhile.
            blob = snapshot_stream_bytes(self.b.server.snapshot_bytes())
        except StorageError as e:
            context.abort(grpc.StatusCode.INTERNAL, str(e))
        header = self._header()
        for start in range(0, max(len(blob), 1), SNAPSHOT_CHUNK):
            chunk = blob[start:start + SNAPSHOT_CHUNK]
            yield rpc_pb2.SnapshotResponse(header=header, blob=chunk,
                                           remaining_bytes=len(blob) - start - len(chunk))

    @abort_on_error
    def MoveLeader(self, request, context):
        self.b.run(self.b.server.move_leader, request.targetID)
        return rpc_pb2.MoveLeaderResponse(header=self._header())
