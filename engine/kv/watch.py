"""Watchers: who wants to hear about which keys, and what each has yet to be told.

Modelled on etcd's watchableStore. A watcher is *synced* when it has been given every
revision up to the current one; applying a write then appends one WatchResponse (the events
of that revision in its key range) to each synced watcher's pending buffer. Buffers are
bounded: a watcher whose buffer is full when a revision comes is moved to *unsynced*
instead of holding up the write, and later catches up by reading history from the revision
it missed, whole revisions at a time, as the host takes its responses. If compaction has
dropped that history meanwhile, it gets a final response carrying the compact revision and
is cancelled. Nothing here ever blocks or drops an event silently.

The host pulls: `take(watch_id)` returns what is ready (topping up a lagging watcher from
history first), `drain()` does so for every watcher.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from .errors import ErrorKind, KVError
from .keys import KeySpan
from .mvcc import MVCCStore, Record
from .types import Event, EventType, FilterType, ResponseHeader, WatchResponse

DEFAULT_MAX_PENDING = 128      # responses buffered per watcher, as etcd's chanBufLen
DEFAULT_BATCH_MAX_REVS = 1000  # revisions per catch-up response, as etcd's watchBatchMaxRevs

_FILTERED_TYPE = {FilterType.NOPUT: EventType.PUT, FilterType.NODELETE: EventType.DELETE}


@dataclass(slots=True)
class Watcher:
    id: int
    span: KeySpan
    min_rev: int  # the first revision this watcher has not been given yet
    prev_kv: bool
    dropped_types: frozenset[EventType]
    progress_notify: bool
    start_rev: int = 0   # the revision it was asked to start from
    pending: deque[WatchResponse] = field(default_factory=deque)
    synced: bool = False
    canceled: bool = False  # its final (compacted) response is pending; gone once taken


@dataclass(frozen=True, slots=True)
class WatcherPosition:
    """Where a watcher stands in MVCC time, for a view: every revision before
    `next_rev` has been given to it (or had nothing for it); `pending` responses wait
    for its stream to take them."""
    id: int
    span: KeySpan
    start_rev: int
    next_rev: int
    synced: bool
    pending: int
    filters: tuple[str, ...] = ()     # etcd's filter names, NOPUT and NODELETE


class WatchHub:
    def __init__(self, store: MVCCStore, max_pending: int = DEFAULT_MAX_PENDING,
                 batch_max_revs: int = DEFAULT_BATCH_MAX_REVS) -> None:
        self.store = store
        # At least one of each, or a lagging watcher could never make progress.
        self.max_pending = max(1, max_pending)
        self.batch_max_revs = max(1, batch_max_revs)
        self.watchers: dict[int, Watcher] = {}
        self._next_id = 0

    def watch(self, span: KeySpan, start_revision: int = 0, *, prev_kv: bool = False,
              filters: Iterable[FilterType] = (), progress_notify: bool = False,
              watch_id: int | None = None) -> int:
        """Start watching `span` from `start_revision` (0: the next revision)."""
        watch_id = self._claim_id(watch_id)
        current = self.store.current_rev
        start = current + 1 if start_revision <= 0 else start_revision
        self.watchers[watch_id] = Watcher(
            watch_id, span, start, prev_kv,
            frozenset(_FILTERED_TYPE[f] for f in filters), progress_notify, start,
            synced=start > current)
        return watch_id

    def _claim_id(self, watch_id: int | None) -> int:
        if watch_id is None:
            while self._next_id in self.watchers:
                self._next_id += 1
            return self._next_id
        if watch_id in self.watchers:
            raise KVError(ErrorKind.DUPLICATE_WATCH_ID)
        return watch_id

    def cancel(self, watch_id: int) -> bool:
        return self.watchers.pop(watch_id, None) is not None

    def positions(self, limit: int | None = None) -> list[WatcherPosition]:
        """The first `limit` live watchers by id (all: None), where each stands."""
        live = sorted((w for w in self.watchers.values() if not w.canceled),
                      key=lambda w: w.id)
        return [WatcherPosition(w.id, w.span, w.start_rev, w.min_rev, w.synced, len(w.pending),
                                tuple(sorted(f.name for f, t in _FILTERED_TYPE.items()
                                             if t in w.dropped_types)))
                for w in live[:limit]]

    def notify(self, rev: int, changes: list[Record]) -> None:
        """Hand the changes of revision `rev` to every synced watcher that wants them."""
        for watcher in self.watchers.values():
            if not watcher.synced or watcher.min_rev > rev:
                continue
            events = self._events(watcher, changes)
            if events and len(watcher.pending) >= self.max_pending:
                watcher.synced = False  # a victim: it will catch up from history
                continue
            if events:
                watcher.pending.append(self._response(watcher, rev, events))
            watcher.min_rev = rev + 1

    def take(self, watch_id: int, max_responses: int | None = None) -> list[WatchResponse]:
        """The watcher's ready responses, oldest first, after topping it up from history
        if it lags behind. Raises KeyError for an unknown (or cancelled and drained) id."""
        watcher = self.watchers[watch_id]
        self._catch_up(watcher)
        count = len(watcher.pending) if max_responses is None else max_responses
        taken = [watcher.pending.popleft() for _ in range(min(count, len(watcher.pending)))]
        if watcher.canceled and not watcher.pending:
            del self.watchers[watch_id]
        return taken

    def drain(self) -> dict[int, list[WatchResponse]]:
        """Everything ready, for every watcher that has something, by watch id."""
        ready = {watch_id: self.take(watch_id) for watch_id in sorted(self.watchers)}
        return {watch_id: responses for watch_id, responses in ready.items() if responses}

    def sync(self) -> int:
        """Top up every lagging watcher from history; return how many still lag."""
        for watcher in list(self.watchers.values()):
            self._catch_up(watcher)
        return sum(1 for w in self.watchers.values() if not w.synced and not w.canceled)

    def request_progress(self, watch_ids: Iterable[int] | None = None, *,
                         only_progress_notify: bool = False) -> list[int]:
        """Queue a progress notification (no events, the current revision) for each synced
        watcher with room, meaning "you have everything up to here"; return their ids."""
        chosen = self.watchers if watch_ids is None else watch_ids
        notified = []
        for watch_id in chosen:
            watcher = self.watchers.get(watch_id)
            if (watcher is None or not watcher.synced
                    or (only_progress_notify and not watcher.progress_notify)
                    or len(watcher.pending) >= self.max_pending):
                continue
            watcher.pending.append(
                WatchResponse(ResponseHeader(self.store.current_rev), watcher.id))
            notified.append(watcher.id)
        return notified

    def rebind(self, store: MVCCStore) -> None:
        """The store was replaced by a snapshot: every watcher catches up from history."""
        self.store = store
        for watcher in self.watchers.values():
            watcher.synced = False

    def _catch_up(self, watcher: Watcher) -> None:
        current = self.store.current_rev
        while (not watcher.synced and not watcher.canceled
               and len(watcher.pending) < self.max_pending):
            if watcher.min_rev < self.store.compact_rev:
                self._cancel_compacted(watcher)
            elif watcher.min_rev > current:
                watcher.synced = True
            else:
                self._read_history(watcher, current)

    def _cancel_compacted(self, watcher: Watcher) -> None:
        watcher.canceled = True
        watcher.pending.append(WatchResponse(
            ResponseHeader(self.store.current_rev), watcher.id,
            compact_revision=self.store.compact_rev, canceled=True))

    def _read_history(self, watcher: Watcher, current: int) -> None:
        """Queue one response with the watcher's events from its next revision on, at most
        `batch_max_revs` revisions and never part of one; advance it past what was read."""
        records: list[tuple[int, Record]] = []
        revs_seen = 0
        next_rev = current + 1
        for rev, record in self.store.history(watcher.min_rev, current):
            if not watcher.span.contains(record.kv.key):
                continue
            if not records or records[-1][0] != rev.main:
                if revs_seen == self.batch_max_revs:
                    next_rev = rev.main
                    break
                revs_seen += 1
            records.append((rev.main, record))
        events = self._events(watcher, [record for _, record in records])
        if events:
            watcher.pending.append(self._response(watcher, current, events))
        watcher.min_rev = next_rev

    def _events(self, watcher: Watcher, changes: list[Record]) -> tuple[Event, ...]:
        return tuple(self._event(watcher, record) for record in changes
                     if record.event_type not in watcher.dropped_types
                     and watcher.span.contains(record.kv.key))

    def _event(self, watcher: Watcher, record: Record) -> Event:
        prev = None
        if watcher.prev_kv:
            # The value just before this change, unless compaction has taken it.
            before = record.kv.mod_revision - 1
            if before >= self.store.compact_rev:
                prev = self.store.kv_at(record.kv.key, before)
        return Event(record.event_type, record.kv, prev)

    def _response(self, watcher: Watcher, rev: int, events: tuple[Event, ...]) -> WatchResponse:
        return WatchResponse(ResponseHeader(rev), watcher.id, events)
