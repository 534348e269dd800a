"""Watches on a live cluster: the client panel's own, and the short ones that read a key's
history.

`Watches` opens one gRPC Watch stream per `watch` line, on a thread that records every
event into the watch's view (linked to the request that wrote its revision) until the line
`unwatch ID` cancels it, the member goes away, or the backend closes. `read_history`
replays one key's kept changes with a watch from an old revision and stops once it has
seen the key's current version, or once the stream falls quiet for a deleted key.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Callable

import grpc

from engine.observe import KeyRevision, WatchEventView, WatchView, watch_saw
from engine.runtime.etcd_watch import OWN_CLIENT
from engine.runtime.proto import rpc_pb2, rpc_pb2_grpc
from engine.sim.ui_client import WatchSpec
from engine.kv.describe import show

from .live_client import Requests
from .live_views import EVENTS_KEPT

# The interface's own streams say so, and members leave them out of the watchers they
# report: the panel's watches are shown from their own events, the others are plumbing.
PANEL, HISTORY = ((OWN_CLIENT, "raftviz panel"),), ((OWN_CLIENT, "raftviz key history"),)
HISTORY_TIMEOUT_S = 2.0
QUIET_S = 0.3               # no more events this long after the last: a deleted key's end
_END = object()


def request_stream(requests: queue.Queue):
    """The request side of a Watch call: whatever is queued, until _END."""
    while True:
        item = requests.get()
        if item is _END:
            return
        yield item


def create_request(key: bytes, range_end: bytes, start: int, prev_kv: bool = False):
    return rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
        key=key, range_end=range_end, start_revision=start, prev_kv=prev_kv))


@dataclass
class LiveWatch:
    id: int
    node: int
    spec: WatchSpec
    events: deque = field(default_factory=lambda: deque(maxlen=EVENTS_KEPT))
    total: int = 0
    canceled: bool = False
    compact_revision: int = 0
    server_id: int = -1
    requests: queue.Queue = field(default_factory=queue.Queue)
    call: object = None

    def view(self) -> WatchView:
        return WatchView(self.id, self.node, show(self.spec.key), show(self.spec.range_end),
                         self.spec.start_revision, tuple(self.events), self.total,
                         self.canceled, self.compact_revision)


class Watches:
    def __init__(self, requests: Requests, changed: Callable[[], None]) -> None:
        self.requests, self.changed = requests, changed
        self.watches: dict[int, LiveWatch] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def open(self, channel: grpc.Channel, node: int, spec: WatchSpec) -> LiveWatch:
        watch = LiveWatch(next(self._ids), node, spec)
        watch.requests.put(create_request(spec.key, spec.range_end, spec.start_revision,
                                          spec.prev_kv))
        watch.call = rpc_pb2_grpc.WatchStub(channel).Watch(request_stream(watch.requests),
                                                           metadata=PANEL)
        with self._lock:
            self.watches[watch.id] = watch
        thread = threading.Thread(target=self._read, args=(watch,), daemon=True,
                                  name=f"watch-{watch.id}")
        self._threads.append(thread)
        thread.start()
        return watch

    def _read(self, watch: LiveWatch) -> None:
        try:
            for response in watch.call:
                self._record(watch, response)
        except grpc.RpcError:
            pass
        with self._lock:
            watch.canceled = True
        self.changed()

    def _record(self, watch: LiveWatch, response) -> None:
        with self._lock:
            if response.created:
                watch.server_id = response.watch_id
            if response.canceled:
                watch.canceled, watch.compact_revision = True, response.compact_revision
            for event in response.events:
                self._event(watch, event)
        self.changed()

    def _event(self, watch: LiveWatch, event) -> None:
        kind = "DELETE" if event.type == event.DELETE else "PUT"
        rev, key = event.kv.mod_revision, show(event.kv.key)
        request_id = self.requests.watch_event(rev, watch_saw(watch.id, watch.node, kind, key))
        watch.events.append(WatchEventView(rev, kind, key, show(event.kv.value), request_id))
        watch.total += 1

    def link(self, revision: int, request_id: str) -> tuple[str, ...]:
        """A write answered after its watch events arrived: mark them as its doing and
        say which watches saw it."""
        seen = []
        with self._lock:
            for watch in self.watches.values():
                for i, event in enumerate(watch.events):
                    if event.revision == revision and event.request_id is None:
                        watch.events[i] = replace(event, request_id=request_id)
                        seen.append(watch_saw(watch.id, watch.node, event.event, event.key))
        return tuple(seen)

    def cancel(self, watch_id: int) -> bool:
        with self._lock:
            watch = self.watches.get(watch_id)
            if watch is None or watch.canceled:
                return False
            watch.canceled = True
        _stop(watch)
        return True

    def views(self) -> tuple[WatchView, ...]:
        with self._lock:
            return tuple(w.view() for w in self.watches.values())

    def close(self) -> None:
        with self._lock:
            watches = list(self.watches.values())
        for watch in watches:
            _stop(watch)
        for thread in self._threads:
            thread.join(2.0)


def _stop(watch: LiveWatch) -> None:
    watch.requests.put(_END)
    if watch.call is not None:
        watch.call.cancel()


# --- a key's history --------------------------------------------------------------------


def read_history(channel: grpc.Channel, key: bytes, start: int,
                 current_mod: int) -> tuple[KeyRevision, ...]:
    """Every change of `key` from revision `start` on, newest first. `current_mod` is the
    key's mod revision now (0 if it does not exist). Falls back once to the compacted
    revision if `start` is too old."""
    try:
        return _replay(channel, key, start, current_mod)
    except _Compacted as compacted:
        return _replay(channel, key, compacted.revision, current_mod)


class _Compacted(Exception):
    def __init__(self, revision: int) -> None:
        super().__init__(revision)
        self.revision = revision


def _replay(channel: grpc.Channel, key: bytes, start: int,
            current_mod: int) -> tuple[KeyRevision, ...]:
    requests: queue.Queue = queue.Queue()
    requests.put(create_request(key, b"", max(1, start)))
    call = rpc_pb2_grpc.WatchStub(channel).Watch(request_stream(requests),
                                                 timeout=HISTORY_TIMEOUT_S, metadata=HISTORY)
    changes: list[KeyRevision] = []
    quiet = threading.Timer(QUIET_S, call.cancel)
    try:
        for response in call:
            if response.canceled and response.compact_revision:
                raise _Compacted(response.compact_revision)
            changes += [_change(e) for e in response.events]
            if current_mod and changes and changes[-1].revision >= current_mod:
                break
            if not current_mod:
                quiet.cancel()
                quiet = threading.Timer(QUIET_S, call.cancel)
                quiet.start()
    except grpc.RpcError:
        pass     # cancelled when quiet, or out of time: what arrived is the history
    finally:
        quiet.cancel()
        requests.put(_END)
        call.cancel()
    return tuple(reversed(changes))


def _change(event) -> KeyRevision:
    kv = event.kv
    kind = "delete" if event.type == event.DELETE else "put"
    return KeyRevision(kv.mod_revision, kind, show(kv.value), kv.version,
                       kv.create_revision, kv.lease)

