"""The keyspace, leases and key histories of a live cluster, read in the background.

Views must never wait for the network, so a `KeyspaceCache` thread keeps copies: the
first KEYS_SHOWN keys of the keyspace node, from a watched mirror (live_mirror) or, for a
keyspace too big to mirror, a serializable Range read again when that node's revision
moves, at most four times a second; the leader's leases with their remaining time and
keys, every second; and the history of the key the interface last asked about. `target()`
(from the backend) says which node to read and at which revision it stands. While the
interface shows none of it (`show(False)`), nothing is read and the mirror pauses.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import grpc

from engine.observe import KeyRevision, KeyView, LeaseView
from engine.runtime.proto import rpc_pb2
from engine.kv.describe import show

from .live_client import Channels
from .live_mirror import KeyMirror, key_view
from .live_watch import read_history

KEYS_SHOWN = 300
LEASES_SHOWN = 50
REFRESH_S = 1.0
MIN_GAP_S = 0.25       # at most four keyspace reads a second, however busy the cluster
READ_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Target:
    node: int                 # the member whose keyspace is shown
    url: str
    revision: int
    compact_revision: int
    leader_url: str | None    # leases live with the leader's lessor


class Keys(NamedTuple):
    """The first keys of one member's keyspace, how many it holds, and the revision they
    were read at: the mirror's watch, or a read, can be ahead of the member's last
    report, and a keyspace titled "revision 1" over a key at mod revision 2 is wrong."""
    shown: tuple[KeyView, ...] = ()
    count: int = 0
    node: int = 0
    revision: int = 0
    watched: bool = False     # a watch keeps them current (it may be catching up)

    def revision_for(self, t: Target) -> int:
        """The revision to show the keyspace of `t` at. A watched copy stands at its own:
        after a pause it is behind the member's report until it catches up, and titled
        with the report's it would claim changes it does not show yet. Keys read once
        stand at the later of the two (the member's report may lag the read)."""
        if self.node != t.node:
            return t.revision
        return self.revision if self.watched else max(t.revision, self.revision)


class KeyspaceCache(threading.Thread):
    def __init__(self, channels: Channels, target: Callable[[], Target | None],
                 changed: Callable[[], None], stop: threading.Event) -> None:
        super().__init__(name="keyspace", daemon=True)
        self.channels, self.target, self.changed, self.stop = channels, target, changed, stop
        self.wake = threading.Event()
        self.mirror = KeyMirror(channels, changed, stop)
        self.read_keys = Keys()                          # without the mirror
        self.leases: tuple[LeaseView, ...] = ()
        self.read_at: tuple[int, int] = (0, -1)          # (node, revision) of `keys`
        self.histories: dict[str, tuple[tuple[int, int], tuple[KeyRevision, ...]]] = {}
        self.wanted: str | None = None
        self.leases_read = 0.0
        self.shown = True       # until the interface says it shows none of it
        self._showing = threading.Lock()     # whether shown, and the mirror to match

    def show(self, shown: bool) -> None:
        """The interface shows the keys, leases and watches now, or none of them: while
        none, nothing is read and the mirror pauses (its watch costs the member and this
        process a message per change). Shown again, the mirror resumes at once and the
        member sends it what it missed at its next sync of watchers (a tenth of a second):
        until then the keys shown are those of the revision it paused at."""
        with self._showing:
            if shown == self.shown:
                return
            self.shown = shown
            self.leases_read = 0.0          # read again as soon as shown
            if not shown:
                self.mirror.pause()
            elif (target := self.target()) is not None:
                self.mirror.follow(target.node, target.url)     # now, not next round
        self.wake.set()
        self.changed()      # views made while hidden stand at the member's revision

    @property
    def keys(self) -> Keys:
        """The first KEYS_SHOWN keys of the member shown, from the mirror or a read."""
        if self.mirror.active:
            shown, count, revision, source = self.mirror.first(KEYS_SHOWN)
            if source is not None:
                return Keys(shown, count, source[0], revision, self.mirror.kept_current)
        return self.read_keys

    def poke(self) -> None:
        self.wake.set()

    def history(self, key: str, at: tuple[int, int]) -> tuple[KeyRevision, ...]:
        """The cached history of `key`; asks for a fresh one if it was read at another
        (revision, compact revision) than `at` (the answer comes with a change notice)."""
        read_at, changes = self.histories.get(key, ((-1, -1), ()))
        if read_at != at:
            self.wanted = key
            self.wake.set()
        return changes

    def run(self) -> None:
        self.mirror.start()
        try:
            self._loop()
        finally:
            self.mirror.close()

    def _loop(self) -> None:
        while not self.stop.is_set():
            self.wake.wait(REFRESH_S)
            # Reading the whole keyspace costs the member real work: a busy cluster
            # would be asked many times a second, so reads are spaced out.
            if self.stop.wait(MIN_GAP_S):
                return
            self.wake.clear()
            target = self.target()
            if target is not None and self._refresh(target):
                self.changed()

    def _refresh(self, t: Target) -> bool:
        with self._showing:
            if not self.shown:
                return False
            self.mirror.follow(t.node, t.url)
        changed = False
        try:
            mirrored = self.mirror.active and self.mirror.source == (t.node, t.url)
            if not mirrored and (t.node, t.revision) != self.read_at:
                changed |= self._read_keys(t)
            if t.leader_url and time.monotonic() - self.leases_read >= REFRESH_S:
                self.leases_read = time.monotonic()
                changed |= self._read_leases(t.leader_url)
            if self.wanted is not None:
                changed |= self._read_history(t, self.wanted)
        except grpc.RpcError:
            pass      # the member went away; the next round reads elsewhere
        except ValueError:
            if not self.stop.is_set():
                raise
            # the backend closed its channels under this read: it is closing
        return changed

    def _read_keys(self, t: Target) -> bool:
        r = self.channels.kv(t.url).Range(rpc_pb2.RangeRequest(
            key=b"\0", range_end=b"\0", serializable=True, limit=KEYS_SHOWN),
            timeout=READ_TIMEOUT_S)
        self.read_keys = Keys(tuple(key_view(x) for x in r.kvs), r.count, t.node,
                              r.header.revision)
        self.read_at = (t.node, t.revision)
        return True

    def _read_leases(self, leader_url: str) -> bool:
        stub = self.channels.lease(leader_url)
        listed = stub.LeaseLeases(rpc_pb2.LeaseLeasesRequest(), timeout=READ_TIMEOUT_S)
        views = []
        for lease in list(listed.leases)[:LEASES_SHOWN]:
            r = stub.LeaseTimeToLive(rpc_pb2.LeaseTimeToLiveRequest(ID=lease.ID, keys=True),
                                     timeout=READ_TIMEOUT_S)
            if r.TTL >= 0:
                views.append(LeaseView(lease.ID, r.grantedTTL, r.TTL,
                                       tuple(show(k) for k in r.keys)))
        leases = tuple(sorted(views, key=lambda v: v.id))
        changed, self.leases = leases != self.leases, leases
        return changed

    def _read_history(self, t: Target, key: str) -> bool:
        """Read only the changes made since the last read (reading a busy key's whole
        history for each made the member scan every revision, four times a second),
        and forget those compacted away since."""
        now = self.channels.kv(t.url).Range(rpc_pb2.RangeRequest(
            key=key.encode(), serializable=True), timeout=READ_TIMEOUT_S)
        current_mod = now.kvs[0].mod_revision if now.kvs else 0
        read_at, known = self.histories.get(key, ((-1, -1), ()))
        kept = tuple(c for c in known if c.revision >= t.compact_revision)
        latest = kept[0] if kept else None
        start = max(t.compact_revision, latest.revision + 1 if latest else 0)
        unread = read_at[0] < 0 or current_mod != expected_mod(latest)
        if unread and (not current_mod or current_mod >= start):
            kept = read_history(self.channels.get(t.url), key.encode(), start,
                                current_mod) + kept
        self.histories[key] = ((t.revision, t.compact_revision), kept)
        if self.wanted == key:
            self.wanted = None
        return True


def expected_mod(latest: KeyRevision | None) -> int:
    """The key's mod revision if `latest` is still its last change (0: no such key)."""
    return latest.revision if latest and latest.event == "put" else 0
