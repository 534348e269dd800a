"""The backend's window onto a KVStore: what it persists and how a store is rebuilt.

engine.kv exposes its replicated state as snapshot bytes; the backend needs it piecewise
(the records added since a revision, the lease table, the alarms) so each commit writes
only what changed. This module is the one place that reads KVStore's internals for that,
and the one place that builds a KVStore back from rows, through the snapshot codec, so a
rebuilt store passes exactly the checks a Raft snapshot install does.
"""

from __future__ import annotations

from collections.abc import Iterator

from engine.kv import KVConfig, KVStore, KeyValue
from engine.kv.index import Revision
from engine.kv.snapshot import SnapshotRecord, SnapshotState, encode_snapshot


def history_identity(kv: KVStore) -> object:
    """An object that stays the same while `kv` only grows or compacts its history, and
    changes when the history is replaced wholesale (a Raft snapshot installed)."""
    return kv._mvcc


def records_after(kv: KVStore, revision: int) -> Iterator[SnapshotRecord]:
    """Every stored change with a main revision above `revision`, in revision order."""
    records = kv._mvcc.records
    start = records.bisect_left(Revision(revision + 1, 0))
    for rev, record in records.items()[start:]:
        yield SnapshotRecord(rev, record.kv, record.tombstone)


def all_records(kv: KVStore) -> Iterator[SnapshotRecord]:
    return records_after(kv, -1)


def has_record(kv: KVStore, main: int, sub: int) -> bool:
    return Revision(main, sub) in kv._mvcc.records


def lease_objects(kv: KVStore) -> tuple:
    """The lease objects themselves: a lease re-granted under the same id is a new object,
    so comparing these by identity finds any change without walking TTLs."""
    return tuple(kv._lessor.leases.values())


def leases(kv: KVStore) -> list[tuple[int, int]]:
    """(id, ttl) of every lease, by id."""
    return [(lease.id, lease.ttl) for lease in kv._lessor.leases.values()]


def tombstone_kv(key: bytes, main: int) -> KeyValue:
    """A tombstone's kv as the store holds it: only the key and the deleting revision."""
    return KeyValue(key=key, mod_revision=main)


def rebuild(state: SnapshotState, config: KVConfig = KVConfig()) -> KVStore:
    """A new KVStore holding `state`; raises engine.kv.SnapshotError if the state is one
    no store could have produced (records out of order, a key's history contradicting
    itself, a key attached to a missing lease)."""
    return KVStore.restore(encode_snapshot(state), config)
