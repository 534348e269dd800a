"""Following client requests and watches through the simulated cluster.

A request gets an id (r1, r2, ...) when a client sends it. From then on the world reports
what happens to it: which node appended its entry and when, when each node saw it
committed and applied it, which revision it produced and which watch events it fired; the
node that took the request answers with the result of its own apply. Reads wait for their
ReadIndex; requests that find no way through time out as etcd's do. A request made of
several proposals (`alarm disarm`) is answered once all its parts are. Watches live on one
node's keyspace and die with it.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from engine.kv import Event, EventType, Request, WatchResponse
from engine.kv.describe import show
from engine.observe import NodeTime, RequestTrace, WatchEventView, WatchView, watch_saw

from .ui_client import NO_ALARMS
from .ui_keyspace import request_name

TRACES_KEPT = 200
WATCH_EVENTS_KEPT = 12
REQUEST_TIMEOUT_MS = 5_000


@dataclass(slots=True)
class Trace:
    id: int
    line: str
    node: int
    proposed_at: int
    path: str                              # log | read-index | local
    request: Request | None = None
    status: str = "pending"
    answer: str = ""
    index: int = 0
    term: int = 0
    read_index: int = -1                   # for reads: served once applied reaches it
    appended: dict[int, int] = field(default_factory=dict)
    committed: dict[int, int] = field(default_factory=dict)
    applied: dict[int, int] = field(default_factory=dict)
    revision: int = 0
    watch_events: list[str] = field(default_factory=list)
    finished_at: int | None = None
    parts: tuple[int, ...] = ()            # the requests whose answers make this one's

    def finish(self, now: int, answer: str, ok: bool = True) -> None:
        if self.status == "pending":
            self.status, self.answer, self.finished_at = ("done" if ok else "failed"), answer, now

    def view(self) -> RequestTrace:
        return RequestTrace(
            request_name(self.id), self.line, self.node, self.proposed_at, self.status,
            self.answer, self.index if self.path == "log" else max(self.read_index, 0),
            self.term, _times(self.appended),
            _times(self.committed), _times(self.applied), self.revision,
            tuple(self.watch_events), self.finished_at, self.path)


def _times(stage: dict[int, int]) -> tuple[NodeTime, ...]:
    return tuple(NodeTime(n, t) for n, t in sorted(stage.items(), key=lambda i: (i[1], i[0])))


@dataclass(slots=True)
class Watch:
    id: int
    node: int
    key: bytes
    range_end: bytes
    start_revision: int
    events: deque = field(default_factory=lambda: deque(maxlen=WATCH_EVENTS_KEPT))
    total: int = 0
    canceled: bool = False
    compact_revision: int = 0

    def view(self) -> WatchView:
        return WatchView(self.id, self.node, show(self.key), show(self.range_end),
                         self.start_revision, tuple(self.events), self.total,
                         self.canceled, self.compact_revision)


class Tracker:
    def __init__(self) -> None:
        self.traces: dict[int, Trace] = {}
        self.next_id = 1
        self.by_revision: dict[int, int] = {}          # revision -> request that made it
        self.watches: dict[int, Watch] = {}
        self.next_watch = 1
        self.groups: set[int] = set()                  # pending requests made of parts

    # -- requests --

    def start(self, line: str, node: int, now: int, path: str,
              request: Request | None = None) -> Trace:
        trace = Trace(self.next_id, line, node, now, path, request)
        self.traces[trace.id] = trace
        self.next_id += 1
        if len(self.traces) > TRACES_KEPT:
            old = self.traces.pop(next(iter(self.traces)))
            self.by_revision.pop(old.revision, None)
        return trace

    def get(self, request_id: int) -> Trace | None:
        return self.traces.get(request_id)

    def open_traces(self) -> list[Trace]:
        return [t for t in self.traces.values() if t.index and t.status != "failed"]

    def appended(self, node: int, request_id: int, index: int, term: int, now: int) -> None:
        trace = self.traces.get(request_id)
        if trace is None:
            return
        if not trace.index:
            trace.index, trace.term = index, term
        if (index, term) == (trace.index, trace.term):
            trace.appended.setdefault(node, now)

    def committed(self, node: int, commit: int, term_at: Callable[[int], int | None],
                  now: int) -> None:
        for trace in self.open_traces():
            if trace.index <= commit and node not in trace.committed:
                term = term_at(trace.index)
                if term is None or term == trace.term:
                    trace.committed[node] = now

    def applied(self, node: int, request_id: int, index: int, term: int, now: int,
                revision: int, answer: str, ok: bool) -> None:
        trace = self.traces.get(request_id)
        if trace is None or (index, term) != (trace.index, trace.term):
            return
        trace.applied.setdefault(node, now)
        if revision:
            trace.revision = revision
            self.by_revision[revision] = request_id
        if node == trace.node:
            trace.finish(now, answer, ok)
            self.join(now)

    def overwritten(self, node: int, index: int, now: int) -> None:
        """`node` applied index `index`: its own requests below that never made it."""
        for trace in self.traces.values():
            if (trace.node == node and trace.status == "pending" and trace.path == "log"
                    and 0 < trace.index <= index and node not in trace.applied):
                trace.finish(now, "Error: etcdserver: leader changed (the entry was "
                             "replaced by a new leader's log; retry)", ok=False)
        self.join(now)

    def waiting_reads(self, node: int, applied: int) -> list[Trace]:
        return [t for t in self.traces.values()
                if t.node == node and t.status == "pending" and t.path == "read-index"
                and 0 <= t.read_index <= applied]

    def node_down(self, node: int, now: int) -> None:
        for trace in self.traces.values():
            if trace.node == node:
                trace.finish(now, "Error: the connection to the node was lost", ok=False)
        for watch in self.watches.values():
            if watch.node == node and not watch.canceled:
                watch.canceled = True

    def time_out(self, now: int) -> None:
        for trace in self.traces.values():
            if trace.status == "pending" and now - trace.proposed_at >= REQUEST_TIMEOUT_MS:
                trace.finish(now, "Error: etcdserver: request timed out", ok=False)
        self.join(now)

    # -- requests made of several proposals --

    def group(self, trace: Trace, parts: list[Trace], now: int) -> None:
        """`trace` is answered once every one of `parts` is: with their answers, or with
        the first error among them."""
        trace.parts = tuple(p.id for p in parts)
        self.groups.add(trace.id)
        self.join(now)

    def join(self, now: int) -> None:
        for trace_id in sorted(self.groups):
            trace = self.traces.get(trace_id)
            parts = [p for p in map(self.traces.get, trace.parts) if p] if trace else []
            if trace is None or trace.status != "pending":
                self.groups.discard(trace_id)
            elif all(p.status != "pending" for p in parts):
                failed = next((p for p in parts if p.status == "failed"), None)
                answers = [p.answer for p in parts if p.answer != NO_ALARMS]
                trace.finish(now, failed.answer if failed else "\n".join(answers) or
                             NO_ALARMS, ok=failed is None)
                self.groups.discard(trace_id)

    # -- watches --

    def add_watch(self, node: int, key: bytes, range_end: bytes, start: int) -> Watch:
        watch = Watch(self.next_watch, node, key, range_end, start)
        self.watches[watch.id] = watch
        self.next_watch += 1
        return watch

    def watch_responses(self, node: int, responses: dict[int, list[WatchResponse]]) -> None:
        for watch_id, batch in responses.items():
            watch = self.watches.get(watch_id)
            if watch is None or watch.node != node:
                continue
            for response in batch:
                self._deliver(watch, response)

    def _deliver(self, watch: Watch, response: WatchResponse) -> None:
        if response.canceled:
            watch.canceled, watch.compact_revision = True, response.compact_revision
        for event in response.events:
            self._record_event(watch, event)

    def _record_event(self, watch: Watch, event: Event) -> None:
        kind = "PUT" if event.type is EventType.PUT else "DELETE"
        rev = event.kv.mod_revision
        request_id = self.by_revision.get(rev)
        name = request_name(request_id) if request_id else None
        watch.events.append(WatchEventView(rev, kind, show(event.kv.key),
                                           show(event.kv.value), name))
        watch.total += 1
        trace = self.traces.get(request_id) if request_id else None
        if trace is not None:
            trace.watch_events.append(watch_saw(watch.id, watch.node, kind, show(event.kv.key)))

    def cancel_watch(self, watch_id: int) -> Watch | None:
        watch = self.watches.get(watch_id)
        if watch is not None:
            watch.canceled = True
        return watch

    # -- views --

    def trace_views(self, limit: int = 60) -> tuple[RequestTrace, ...]:
        return tuple(t.view() for t in list(self.traces.values())[-limit:])

    def watch_views(self) -> tuple[WatchView, ...]:
        return tuple(w.view() for w in self.watches.values())
