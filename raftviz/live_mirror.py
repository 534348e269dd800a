"""A copy of one member's keyspace kept current by a watch, so a write shows at once.

Reading the keyspace again for every change would cost the member a Range per change, so
those reads were spaced out and a write could wait a quarter second to show. The mirror
reads the keys once, then watches every key from the revision it read at: each event
updates the copy, in revision order, as soon as the member applies it. When the member to
show changes, the watch fails or falls behind a compaction, it reads again. Paused while
no tab shows the keyspace, it keeps the copy and later resumes the watch where the copy
stands, so it is sent the changes made meanwhile. A keyspace larger than MIRROR_MAX keys
is not mirrored (`active` stays false) and the caller reads.
The latest CHANGES_KEPT events are kept too: they tell which keys a revision changed, so
other clients' watchers (of which members report only positions) can be shown the events
they were sent, back to the mirror's last read (it cannot know what came before).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Callable, Iterator

import grpc
from sortedcontainers import SortedDict

from engine.observe import KeyView, WatchEventView
from engine.runtime.etcd_watch import OWN_CLIENT
from engine.runtime.proto import kv_pb2, rpc_pb2, rpc_pb2_grpc
from engine.kv.describe import show

from .live_client import Channels

MIRROR_MAX = 20_000
RETRY_S = 0.5
READ_TIMEOUT_S = 2.0
PUT = kv_pb2.Event.PUT
CHANGES_KEPT = 2000


class KeyMirror(threading.Thread):
    """Keeps `keys` a copy of one member's keyspace; `follow` says which member, `pause`
    stops watching while nobody looks."""

    def __init__(self, channels: Channels, changed: Callable[[], None],
                 stop: threading.Event) -> None:
        super().__init__(name="keyspace-mirror", daemon=True)
        self.channels, self.changed, self.stop = channels, changed, stop
        self.wanted: tuple[int, str] | None = None     # (node, client URL) to mirror
        self.source: tuple[int, str] | None = None     # what the copy is of
        self.active = False
        self.keys: SortedDict = SortedDict()           # raw key -> KeyView
        self.revision = 0         # where the copy stands: the last revision it holds
        self.changes: deque[WatchEventView] = deque(maxlen=CHANGES_KEPT)   # newest last
        self._call = None
        self._lock = threading.Lock()
        self._retarget = threading.Event()

    def follow(self, node: int, url: str) -> None:
        """Mirror this member from now on (a no-op if it already does)."""
        if self.wanted != (node, url):
            self.wanted = (node, url)
            self._retarget.set()
            self._cancel()

    @property
    def watching(self) -> bool:
        """A watch call is open (it may still be catching up)."""
        return self._call is not None

    @property
    def kept_current(self) -> bool:
        """The copy is of the member followed, and a watch keeps it current or is about
        to (not paused)."""
        return self.active and self.wanted == self.source

    def pause(self) -> None:
        """Stop watching but keep the copy: following the same member again resumes the
        watch at the copy's revision, so the changes made meanwhile still arrive (a
        compaction past it makes the mirror read again)."""
        if self.wanted is not None:
            self.wanted = None
            self._retarget.set()
            self._cancel()

    def first(self, count: int) -> tuple[tuple[KeyView, ...], int, int,
                                         tuple[int, str] | None]:
        """The first `count` keys, how many there are in all, the copy's revision and the
        member it is of, all as of one moment."""
        with self._lock:
            return (tuple(self.keys.values()[:count]), len(self.keys), self.revision,
                    self.source)

    def recent_changes(self) -> tuple[WatchEventView, ...]:
        with self._lock:
            return tuple(self.changes)

    def close(self) -> None:
        self._retarget.set()
        self._cancel()

    def run(self) -> None:
        while not self.stop.is_set():
            wanted = self.wanted
            if wanted is None:
                self._retarget.wait(RETRY_S)
                self._retarget.clear()
                continue
            self._retarget.clear()
            try:
                self._mirror(*wanted)
            except grpc.RpcError:
                pass     # cancelled for a new member or a pause, or the member went away
            except ValueError:
                if not self.stop.is_set():
                    raise
                return   # the backend closed its channels under this read: it is closing
            if self.wanted is not None:      # paused, the copy is kept to resume from
                self.active = False
            if not self._retarget.is_set():
                self.stop.wait(RETRY_S)

    def _mirror(self, node: int, url: str) -> None:
        resumed = self.active and self.source == (node, url)
        revision = self.revision if resumed else self._read(node, url)
        if revision is None:
            self.stop.wait(RETRY_S * 4)      # too many keys: the caller reads instead
            return
        done = threading.Event()
        create = rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
            key=b"\0", range_end=b"\0", start_revision=revision + 1))
        call = rpc_pb2_grpc.WatchStub(self.channels.get(url)).Watch(
            one_request(create, done), metadata=((OWN_CLIENT, "raftviz keyspace mirror"),))
        self._call = call
        if self._retarget.is_set() or self.stop.is_set():
            call.cancel()
        try:
            for response in call:
                if response.canceled or response.compact_revision:
                    return                    # fell behind a compaction: read again
                if response.events:
                    self._apply(response.events)
        finally:
            done.set()
            self._call = None

    def _read(self, node: int, url: str) -> int | None:
        r = self.channels.kv(url).Range(rpc_pb2.RangeRequest(
            key=b"\0", range_end=b"\0", serializable=True, limit=MIRROR_MAX + 1),
            timeout=READ_TIMEOUT_S)
        if r.more or len(r.kvs) > MIRROR_MAX:
            return None
        with self._lock:      # the keys and whose they are change together
            self.keys = SortedDict((x.key, key_view(x)) for x in r.kvs)
            self.revision = r.header.revision
            self.source, self.active = (node, url), True
        self.changed()
        return r.header.revision

    def _apply(self, events) -> None:
        with self._lock:
            # Every revision changes a key, and a watch sends each revision's events
            # together: the copy stands at the last one's (the response's header can be
            # ahead, most while a resumed watch catches up).
            self.revision = max(self.revision, events[-1].kv.mod_revision)
            for e in events:
                if e.type == PUT:
                    self.keys[e.kv.key] = key_view(e.kv)
                    self.changes.append(WatchEventView(e.kv.mod_revision, "PUT",
                                                       show(e.kv.key), show(e.kv.value)))
                else:
                    self.keys.pop(e.kv.key, None)
                    self.changes.append(WatchEventView(e.kv.mod_revision, "DELETE",
                                                       show(e.kv.key), ""))
        self.changed()

    def _cancel(self) -> None:
        call = self._call
        if call is not None:
            call.cancel()


def one_request(create: rpc_pb2.WatchRequest, done: threading.Event) -> Iterator:
    """The request side of the watch: the create request, then nothing until done."""
    yield create
    done.wait()


def key_view(kv: kv_pb2.KeyValue) -> KeyView:
    return KeyView(show(kv.key), show(kv.value), kv.create_revision, kv.mod_revision,
                   kv.version, kv.lease)
