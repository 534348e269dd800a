"""The Raft log as one node sees it: stable entries in `Storage`, plus an unstable tail.

The unstable part holds entries (and possibly an incoming snapshot) that `ready()` has yet
to hand to the host for persisting; `committed` and `applied` are the two cursors the rest
of the core moves. Mirrors etcd's raftLog/unstable, flattened into one class.
"""

from __future__ import annotations

from .storage import Compacted, Storage, Unavailable, limit_size
from .types import Entry, Snapshot


class RaftLog:
    def __init__(self, storage: Storage, max_next_ents_size: int | None = None) -> None:
        self.storage = storage
        self.max_next_ents_size = max_next_ents_size
        first, last = storage.first_index(), storage.last_index()
        self.unstable_offset = last + 1       # index of unstable_entries[0]
        self.unstable_entries: list[Entry] = []
        self.unstable_snapshot: Snapshot | None = None
        self.committed = first - 1
        self.applied = first - 1

    # -- indexes and terms --

    def first_index(self) -> int:
        if self.unstable_snapshot is not None:
            return self.unstable_snapshot.metadata.index + 1
        return self.storage.first_index()

    def last_index(self) -> int:
        if self.unstable_entries:
            return self.unstable_offset + len(self.unstable_entries) - 1
        if self.unstable_snapshot is not None:
            return self.unstable_snapshot.metadata.index
        return self.storage.last_index()

    def term(self, index: int) -> int:
        """The term of the entry at index; raises Compacted / Unavailable."""
        dummy = self.first_index() - 1
        if index < dummy:
            raise Compacted(index)
        if index > self.last_index():
            raise Unavailable(index)
        if index >= self.unstable_offset and self.unstable_entries:
            return self.unstable_entries[index - self.unstable_offset].term
        snap = self.unstable_snapshot
        if snap is not None and index == snap.metadata.index:
            return snap.metadata.term
        return self.storage.term(index)

    def term_or_zero(self, index: int) -> int:
        try:
            return self.term(index)
        except (Compacted, Unavailable):
            return 0

    def last_term(self) -> int:
        return self.term(self.last_index())

    def match_term(self, index: int, term: int) -> bool:
        try:
            return self.term(index) == term
        except (Compacted, Unavailable):
            return False

    def is_up_to_date(self, last_index: int, term: int) -> bool:
        """Raft's election restriction: is (term, last_index) at least as new as our log?"""
        return term > self.last_term() or (term == self.last_term()
                                           and last_index >= self.last_index())

    # -- reading entries --

    def slice(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]:
        """Entries [lo, hi) limited to max_size bytes (at least one). Raises Compacted."""
        if lo < self.first_index():
            raise Compacted(lo)
        if hi > self.last_index() + 1:
            raise Unavailable(hi)
        out: list[Entry] = []
        if lo < self.unstable_offset:
            out = list(self.storage.entries(lo, min(hi, self.unstable_offset), max_size))
            if len(out) < min(hi, self.unstable_offset) - lo:
                return out  # size limit reached inside storage
        if hi > self.unstable_offset:
            start = max(lo, self.unstable_offset) - self.unstable_offset
            out += self.unstable_entries[start:hi - self.unstable_offset]
        return limit_size(out, max_size)

    def entries_from(self, index: int, max_size: int | None) -> list[Entry]:
        if index > self.last_index():
            return []
        return self.slice(index, self.last_index() + 1, max_size)

    def next_committed_entries(self) -> list[Entry]:
        """Committed entries not yet handed out for applying."""
        lo = max(self.applied + 1, self.first_index())
        if self.committed + 1 <= lo:
            return []
        return self.slice(lo, self.committed + 1, self.max_next_ents_size)

    def has_next_committed_entries(self) -> bool:
        return self.committed > max(self.applied, self.first_index() - 1)

    # -- changing the log --

    def find_conflict(self, entries: tuple[Entry, ...] | list[Entry]) -> int:
        """Index of the first entry whose term differs from ours (or is new); 0 if none."""
        for e in entries:
            if not self.match_term(e.index, e.term):
                return e.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> int:
        """The largest index <= index whose term is <= term: where a leader should probe next."""
        while index > 0:
            t = self.term_or_zero(index)
            if t <= term:
                break
            index -= 1
        return index

    def maybe_append(self, index: int, log_term: int, committed: int,
                     entries: tuple[Entry, ...]) -> int | None:
        """Follower side of MsgApp. Returns the new last index, or None if the check fails."""
        if not self.match_term(index, log_term):
            return None
        last_new = index + len(entries)
        conflict = self.find_conflict(entries)
        if conflict:
            if conflict <= self.committed:
                raise AssertionError(f"entry {conflict} conflicts with committed entry")
            self.append(list(entries[conflict - index - 1:]))
        self.commit_to(min(committed, last_new))
        return last_new

    def append(self, entries: list[Entry]) -> int:
        if not entries:
            return self.last_index()
        after = entries[0].index
        if after <= self.committed:
            raise AssertionError(f"append at {after} is behind commit {self.committed}")
        self._truncate_and_append(entries)
        return self.last_index()

    def _truncate_and_append(self, entries: list[Entry]) -> None:
        after = entries[0].index
        end = self.unstable_offset + len(self.unstable_entries)
        if after == end:
            self.unstable_entries.extend(entries)
        elif after <= self.unstable_offset:
            # replacing everything unstable (and possibly some stable entries)
            self.unstable_offset = after
            self.unstable_entries = list(entries)
        else:
            keep = self.unstable_entries[:after - self.unstable_offset]
            self.unstable_entries = keep + list(entries)

    def commit_to(self, index: int) -> None:
        if index > self.committed:
            if index > self.last_index():
                raise AssertionError(f"commit {index} is past last index {self.last_index()}")
            self.committed = index

    def maybe_commit(self, index: int, term: int) -> bool:
        """Commit up to index, but only if that entry is of `term` (the current one)."""
        if index > self.committed and self.term_or_zero(index) == term:
            self.commit_to(index)
            return True
        return False

    def applied_to(self, index: int) -> None:
        if index and (index > self.committed or index < self.applied):
            raise AssertionError(f"applied {index} outside ({self.applied}, {self.committed}]")
        self.applied = max(self.applied, index)

    def restore(self, snap: Snapshot) -> None:
        """Replace the log by a received snapshot (kept unstable until persisted)."""
        self.committed = snap.metadata.index
        self.unstable_snapshot = snap
        self.unstable_offset = snap.metadata.index + 1
        self.unstable_entries = []

    # -- persistence handshake with the host --

    def stable_to(self, index: int, term: int) -> None:
        """The host persisted entries up to index (of term): drop them from unstable."""
        if not self.unstable_entries or index < self.unstable_offset:
            return
        pos = index - self.unstable_offset
        if pos >= len(self.unstable_entries) or self.unstable_entries[pos].term != term:
            return  # the entry was replaced meanwhile
        self.unstable_entries = self.unstable_entries[pos + 1:]
        self.unstable_offset = index + 1

    def stable_snap_to(self, index: int) -> None:
        if self.unstable_snapshot is not None and self.unstable_snapshot.metadata.index == index:
            self.unstable_snapshot = None

    def snapshot(self) -> Snapshot:
        if self.unstable_snapshot is not None:
            return self.unstable_snapshot
        return self.storage.snapshot()
