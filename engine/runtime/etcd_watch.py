"""etcd's Watch service: one bidirectional stream holding many watchers.

A stream reads create / cancel / progress requests on a thread of its own and writes
responses from a thread-safe queue. Watchers live in the keyspace under store-wide ids;
each stream numbers its watchers from 0 as etcd does and translates. Events reach the
queue from the member's loop (EtcdServer.dispatch_watches), never blocking it. Each
watcher's `WatchOrigin` says who opened it, so views can show any client's watchers (an
etcdctl in another terminal) apart from the ones a raftviz interface opens for itself.
"""

from __future__ import annotations

import itertools
import queue
import threading
from dataclasses import dataclass

import grpc
import trio

from engine import kv

from . import etcd_convert as cv
from .etcd_grpc import Bridge
from .proto import rpc_pb2, rpc_pb2_grpc

_CLOSE = object()
MERGED_EVENTS_MAX = 1000     # events in one response made of several waiting ones
OWN_CLIENT = "raftviz-client"    # metadata a raftviz interface puts on its own streams


@dataclass(slots=True)
class WatchOrigin:
    client: str       # the client's address and gRPC library, or which raftviz part
    own: bool         # opened by a raftviz interface for itself, not by a user's client
    watch_id: int     # the id the client knows it by (numbered per stream)
    events: int = 0   # events handed to its stream so far


def client_of(context) -> tuple[str, bool]:
    """Who opened a stream: (label, opened by raftviz's interface for itself)."""
    metadata = dict(context.invocation_metadata() or ())
    if OWN_CLIENT in metadata:
        return str(metadata[OWN_CLIENT]), True
    peer = context.peer() or ""
    address = peer.split(":", 1)[1] if peer.startswith(("ipv4:", "ipv6:")) else peer
    agent = str(metadata.get("user-agent", "")).split(" ")[0]
    return (f"{address} ({agent})" if agent else address) or "a client", False


class WatchStream:
    def __init__(self, bridge: Bridge, client: tuple[str, bool] = ("a client", False)) -> None:
        self.b = bridge
        self.client, self.own = client
        self.out: queue.Queue = queue.Queue()
        self.local_ids = itertools.count(0)
        self.by_store_id: dict[int, int] = {}     # store watch id -> stream watch id
        self.closed = False

    # -- requests (reader thread) --

    def read_requests(self, requests) -> None:
        try:
            for req in requests:
                which = req.WhichOneof("request_union")
                if which == "create_request":
                    self.b.run(self._create, req.create_request)
                elif which == "cancel_request":
                    self.b.run(self._cancel, req.cancel_request.watch_id)
                elif which == "progress_request":
                    self.b.run(self._progress)
        except (grpc.RpcError, trio.RunFinishedError, ValueError):
            pass
        finally:
            self.close()

    async def _create(self, r: rpc_pb2.WatchCreateRequest) -> None:
        server = self.b.server
        local = r.watch_id if r.watch_id else next(self.local_ids)
        if local in self.by_store_id.values():
            self.out.put(rpc_pb2.WatchResponse(
                header=self._header(), watch_id=local, created=True, canceled=True,
                cancel_reason=kv.ErrorKind.DUPLICATE_WATCH_ID.message))
            return
        filters = [kv.FilterType(f) for f in r.filters]
        store_id = server.kv.watch(r.key, r.range_end, r.start_revision, prev_kv=r.prev_kv,
                                   filters=filters, progress_notify=r.progress_notify)
        self.by_store_id[store_id] = local
        server.watch_origins[store_id] = WatchOrigin(self.client, self.own, local)
        self.out.put(rpc_pb2.WatchResponse(header=self._header(), watch_id=local,
                                           created=True))
        server.watch_sinks[store_id] = self._sink
        server.dispatch_watches()

    async def _cancel(self, local: int) -> None:
        for store_id, mine in list(self.by_store_id.items()):
            if mine == local:
                self._forget(store_id)
                self.out.put(rpc_pb2.WatchResponse(header=self._header(), watch_id=local,
                                                   canceled=True))

    async def _progress(self) -> None:
        server = self.b.server
        server.kv.request_progress(list(self.by_store_id))
        server.dispatch_watches()

    def _forget(self, store_id: int) -> None:
        server = self.b.server
        server.kv.cancel_watch(store_id)
        server.watch_sinks.pop(store_id, None)
        server.watch_origins.pop(store_id, None)
        self.by_store_id.pop(store_id, None)

    # -- responses (called on the member's loop) --

    def _sink(self, responses: list[kv.WatchResponse]) -> None:
        header = self.b.header()
        origins = self.b.server.watch_origins
        for r in responses:
            local = self.by_store_id.get(r.watch_id)
            if local is None:
                continue
            if r.watch_id in origins:
                origins[r.watch_id].events += len(r.events)
            self.out.put(cv.watch_response(r, header, local))
            if r.canceled:
                self._forget(r.watch_id)

    def _header(self) -> rpc_pb2.ResponseHeader:
        return self.b.header().pb(self.b.server.kv.current_revision)

    # -- lifecycle --

    def close(self) -> None:
        """The stream ended. gRPC calls this from its own thread, also while the server
        stops, and a member stops its server from its loop and waits: so the watchers'
        removal is handed to the loop, not waited for (waiting hung the member)."""
        if self.closed:
            return
        self.closed = True
        self.out.put(_CLOSE)
        try:
            self.b.token.run_sync_soon(self._forget_all)
        except trio.RunFinishedError:
            pass

    def _forget_all(self) -> None:
        for store_id in list(self.by_store_id):
            self._forget(store_id)

    def responses(self):
        """What to send, in order. Event responses of one watcher waiting back to back
        go out as one (as etcd batches a catching-up watcher): a reader that fell behind
        then catches up in a few messages instead of one per revision."""
        item = self.out.get()
        while item is not _CLOSE:
            waiting = self._queued()
            while waiting is not None and mergeable(item, waiting):
                item.events.extend(waiting.events)
                item.header.CopyFrom(waiting.header)
                waiting = self._queued()
            yield item
            item = waiting if waiting is not None else self.out.get()

    def _queued(self):
        """The next response if one is already waiting (this stream is its only reader)."""
        return self.out.get_nowait() if not self.out.empty() else None


def mergeable(first: rpc_pb2.WatchResponse, then: rpc_pb2.WatchResponse) -> bool:
    """Both plain event responses of the same watcher, and not too many events yet."""
    return (then is not _CLOSE and first.watch_id == then.watch_id and
            is_events(first) and is_events(then) and
            len(first.events) + len(then.events) <= MERGED_EVENTS_MAX)


def is_events(r: rpc_pb2.WatchResponse) -> bool:
    return bool(r.events) and not (r.created or r.canceled or r.compact_revision or
                                   r.fragment)


class WatchService(rpc_pb2_grpc.WatchServicer):
    def __init__(self, bridge: Bridge) -> None:
        self.b = bridge

    def Watch(self, request_iterator, context):
        stream = WatchStream(self.b, client_of(context))
        context.add_callback(stream.close)
        reader = threading.Thread(target=stream.read_requests, args=(request_iterator,),
                                  name="watch-reader", daemon=True)
        reader.start()
        yield from stream.responses()
