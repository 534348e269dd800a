"""Multi-version storage: every change ever made, by revision, and the key index over it.

`MVCCStore` owns the store revision, the compaction point and the records (one per change,
keyed by `Revision`); reads go through a `ReadView`, changes through a `WriteTxn`, which is
one store revision however many keys it touches (etcd's storeTxnWrite). A write
transaction that changes nothing leaves the revision alone. Leases are told about key
attachment through the small `LeaseHooks` protocol, so this module does not know the lessor.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from sortedcontainers import SortedDict

from .errors import ErrorKind, KVError
from .etcdhash import hash_records
from .index import Revision, TreeIndex
from .keys import KeySpan
from .quota import record_size
from .types import EventType, KeyValue

FIRST_REVISION = 1  # an empty store is at revision 1, as etcd's is


@dataclass(frozen=True, slots=True)
class Record:
    """One change: a put's full key-value, or a tombstone (kv holds only key and revision)."""
    kv: KeyValue
    tombstone: bool = False

    @property
    def event_type(self) -> EventType:
        return EventType.DELETE if self.tombstone else EventType.PUT


class LeaseHooks(Protocol):
    def attach(self, lease_id: int, key: bytes) -> None: ...
    def detach(self, lease_id: int, key: bytes) -> None: ...


class MVCCStore:
    def __init__(self) -> None:
        self.current_rev = FIRST_REVISION
        self.compact_rev = 0  # 0: never compacted
        self.index = TreeIndex()
        self.records: SortedDict = SortedDict()  # Revision -> Record
        self.size_bytes = 0  # quota estimate of what is stored, see quota.record_size

    def view(self) -> ReadView:
        return ReadView(self)

    def write(self, leases: LeaseHooks) -> WriteTxn:
        return WriteTxn(self, leases)

    def kv_at(self, key: bytes, at_rev: int) -> KeyValue | None:
        """The key's value as of `at_rev`, without checking compaction."""
        rev = self.index.get(key, at_rev)
        return None if rev is None else self.records[rev].kv

    def kvs_at(self, span: KeySpan, at_rev: int) -> list[KeyValue]:
        return [self.records[rev].kv for rev in self.index.revisions(span, at_rev)]

    def add_record(self, rev: Revision, record: Record) -> None:
        """Store a change and index it (also used to rebuild from a snapshot)."""
        if record.tombstone:
            self.index.key_index(record.kv.key).tombstone(rev)
        else:
            kv = record.kv
            self.index.key_index(kv.key).put(rev, kv.create_revision, kv.version)
        self.records[rev] = record
        self.size_bytes += record_size(record.kv, record.tombstone)

    def compact(self, rev: int) -> int:
        """Drop history no read at or after `rev` can see; return how many records went."""
        if rev <= self.compact_rev:
            raise KVError(ErrorKind.COMPACTED)
        if rev > self.current_rev:
            raise KVError(ErrorKind.FUTURE_REV)
        self.compact_rev = rev
        dropped = self.index.compact(rev)
        for revision in dropped:
            record = self.records.pop(revision)
            self.size_bytes -= record_size(record.kv, record.tombstone)
        return len(dropped)

    def history(self, first_rev: int, last_rev: int) -> Iterator[tuple[Revision, Record]]:
        """Every stored change with first_rev <= main <= last_rev, in revision order."""
        revs = self.records.irange(Revision(first_rev, 0), Revision(last_rev + 1, 0),
                                   inclusive=(True, False))
        for rev in revs:
            yield rev, self.records[rev]

    def hash_kv(self, rev: int) -> int:
        """etcd's HashKV of every stored record with main <= rev (see etcdhash)."""
        records = ((r.main, r.sub, rec.kv, rec.tombstone) for r, rec in self.history(0, rev))
        return hash_records(records, self.compact_rev)


class ReadView:
    """Reads of the store as it is now."""

    def __init__(self, store: MVCCStore) -> None:
        self._store = store

    @property
    def rev(self) -> int:
        """The revision this view reads at by default."""
        return self._store.current_rev

    @property
    def compact_rev(self) -> int:
        return self._store.compact_rev

    def check_revision(self, rev: int) -> int:
        """The revision a read asking for `rev` reads at (0 means the newest)."""
        if rev > self.rev:
            raise KVError(ErrorKind.FUTURE_REV)
        if rev <= 0:
            return self.rev
        if rev < self._store.compact_rev:
            raise KVError(ErrorKind.COMPACTED)
        return rev

    def range(self, span: KeySpan, rev: int = 0) -> list[KeyValue]:
        """Values of the keys in `span` at `rev`, in key order."""
        return self._store.kvs_at(span, self.check_revision(rev))

    def get(self, key: bytes) -> KeyValue | None:
        return self._store.kv_at(key, self.rev)


class WriteTxn(ReadView):
    """One write transaction: every change gets revision (begin_rev + 1, n) for the n-th
    change. Reads inside it see its own earlier changes, as etcd's do."""

    def __init__(self, store: MVCCStore, leases: LeaseHooks) -> None:
        super().__init__(store)
        self.begin_rev = store.current_rev
        self.changes: list[Record] = []
        self._leases = leases

    @property
    def rev(self) -> int:
        return self.begin_rev + 1 if self.changes else self.begin_rev

    def put(self, key: bytes, value: bytes, lease: int) -> KeyValue:
        prev = self.get(key)
        main = self.begin_rev + 1
        kv = KeyValue(key=key, value=value, lease=lease, mod_revision=main,
                      create_revision=prev.create_revision if prev else main,
                      version=prev.version + 1 if prev else 1)
        self._record(Record(kv))
        if prev is not None and prev.lease:
            self._leases.detach(prev.lease, key)
        if lease:
            self._leases.attach(lease, key)
        return kv

    def delete_range(self, span: KeySpan) -> int:
        """Delete every key in `span` that exists; return how many were deleted."""
        doomed = self.range(span)
        for prev in doomed:
            self._record(Record(KeyValue(key=prev.key, mod_revision=self.begin_rev + 1),
                                tombstone=True))
            if prev.lease:
                self._leases.detach(prev.lease, prev.key)
        return len(doomed)

    def _record(self, record: Record) -> None:
        rev = Revision(self.begin_rev + 1, len(self.changes))
        self._store.add_record(rev, record)
        self.changes.append(record)

    def end(self) -> list[Record]:
        """Finish: the store moves to the new revision if anything changed."""
        if self.changes:
            self._store.current_rev = self.begin_rev + 1
        return self.changes
