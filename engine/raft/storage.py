"""Stable storage as the Raft core sees it, and the in-memory implementation.

The core only reads storage; the host writes to it after each `Ready` (append entries, set
the hard state, apply a received snapshot) and compacts it behind snapshots of its own.
Index 0 / the snapshot index holds a dummy entry so `term(first_index - 1)` is answerable,
as in etcd's MemoryStorage.
"""

from __future__ import annotations

from typing import Protocol

from .types import ConfState, Entry, HardState, Snapshot, SnapshotMetadata


class Compacted(Exception):
    """The requested index is behind the last snapshot."""


class Unavailable(Exception):
    """The requested index is past the last entry."""


class SnapshotOutOfDate(Exception):
    """A snapshot older than the one already held."""


class Storage(Protocol):
    def initial_state(self) -> tuple[HardState, ConfState]: ...
    def entries(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]: ...
    def term(self, index: int) -> int: ...
    def first_index(self) -> int: ...
    def last_index(self) -> int: ...
    def snapshot(self) -> Snapshot: ...


def limit_size(entries: list[Entry], max_size: int | None) -> list[Entry]:
    """The longest prefix within max_size bytes, but never fewer than one entry."""
    if max_size is None or not entries:
        return entries
    total = 0
    for n, e in enumerate(entries):
        total += e.size()
        if total > max_size and n > 0:
            return entries[:n]
    return entries


class MemoryStorage:
    def __init__(self) -> None:
        self.hard_state = HardState()
        self._snapshot = Snapshot()
        self._ents: list[Entry] = [Entry(term=0, index=0)]  # dummy at the snapshot index

    # -- reads (the Storage protocol) --

    def initial_state(self) -> tuple[HardState, ConfState]:
        return self.hard_state, self._snapshot.metadata.conf_state

    def entries(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]:
        offset = self._ents[0].index
        if lo <= offset:
            raise Compacted(lo)
        if hi > self.last_index() + 1:
            raise Unavailable(hi)
        return limit_size(self._ents[lo - offset:hi - offset], max_size)

    def term(self, index: int) -> int:
        offset = self._ents[0].index
        if index < offset:
            raise Compacted(index)
        if index - offset >= len(self._ents):
            raise Unavailable(index)
        return self._ents[index - offset].term

    def first_index(self) -> int:
        return self._ents[0].index + 1

    def last_index(self) -> int:
        return self._ents[0].index + len(self._ents) - 1

    def snapshot(self) -> Snapshot:
        return self._snapshot

    # -- writes (by the host) --

    def set_hard_state(self, hs: HardState) -> None:
        self.hard_state = hs

    def apply_snapshot(self, snap: Snapshot) -> None:
        if snap.metadata.index <= self._snapshot.metadata.index:
            raise SnapshotOutOfDate(snap.metadata.index)
        self._snapshot = snap
        self._ents = [Entry(term=snap.metadata.term, index=snap.metadata.index)]

    def create_snapshot(self, index: int, conf_state: ConfState, data: bytes) -> Snapshot:
        if index <= self._snapshot.metadata.index:
            raise SnapshotOutOfDate(index)
        if index > self.last_index():
            raise Unavailable(index)
        meta = SnapshotMetadata(index=index, term=self.term(index), conf_state=conf_state)
        self._snapshot = Snapshot(meta, data)
        return self._snapshot

    def compact(self, index: int) -> None:
        """Drop entries up to and including `index` (which stays as the dummy)."""
        offset = self._ents[0].index
        if index <= offset:
            raise Compacted(index)
        if index > self.last_index():
            raise Unavailable(index)
        i = index - offset
        self._ents = [Entry(term=self._ents[i].term, index=index)] + self._ents[i + 1:]

    def append(self, entries: list[Entry]) -> None:
        """Append, truncating any conflicting suffix; entries behind a snapshot are ignored."""
        if not entries:
            return
        first = self.first_index()
        if entries[-1].index < first:
            return
        if entries[0].index < first:
            entries = entries[first - entries[0].index:]
        offset = entries[0].index - self._ents[0].index
        if offset > len(self._ents):
            raise Unavailable(entries[0].index)
        # In place: rebuilding the list made every append cost the whole log's length.
        del self._ents[offset:]
        self._ents.extend(entries)
