"""The backend's rows: how records, leases, alarms and meta are laid out, digested and
checked on the way back in.

A `key` row holds every field of one change plus an 8-byte BLAKE2b digest of them; the
table's row count and digest sum live in `meta`, whose own checksum also covers the lease
and alarm tables and the members blob. Reading a row back checks its types, its digest
and its shape, raising ValueError for anything no commit could have written.
"""

from __future__ import annotations

import hashlib
import struct

from engine.kv import KeyValue
from engine.kv.index import Revision
from engine.kv.snapshot import SnapshotRecord
from engine.kv.types import AlarmMember

from . import keyspace_state as ks

FORMAT_VERSION = 1
MASK = (1 << 64) - 1

_ROW = struct.Struct(">qqqqqqBI")    # main, sub, create, mod, version, lease, tomb, len(key)
_META = struct.Struct(">IQqqQQ")     # format, index, current, compact, count, digest


def signed(value: int) -> int:
    """A u64 as SQLite's signed 64-bit integer."""
    return value - (1 << 64) if value >= 1 << 63 else value


def row_digest(main: int, sub: int, key: bytes, create: int, mod: int, version: int,
               value: bytes, lease: int, tombstone: int) -> int:
    """8 bytes of BLAKE2b over every field of one `key` row, as a signed integer."""
    head = _ROW.pack(main, sub, create, mod, version, lease, tombstone, len(key))
    digest = hashlib.blake2b(head + key + value, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def aux_digest(leases: list[tuple[int, int]], alarms: tuple[AlarmMember, ...],
               members: bytes) -> bytes:
    h = hashlib.blake2b(digest_size=16, person=b"raftviz-aux")
    h.update(struct.pack(">I", len(leases)))
    h.update(b"".join(struct.pack(">qq", i, ttl) for i, ttl in leases))
    h.update(struct.pack(">I", len(alarms)))
    h.update(b"".join(struct.pack(">BQ", a.alarm, a.member_id) for a in alarms))
    return h.digest() + members


def meta_checksum(fields: tuple, aux: bytes) -> bytes:
    return hashlib.blake2b(_META.pack(*fields) + aux, digest_size=16,
                           person=b"raftviz-meta").digest()


def row_params(record: SnapshotRecord) -> tuple:
    kv, main, sub = record.kv, record.rev.main, record.rev.sub
    tomb = 1 if record.tombstone else 0
    value = b"" if tomb else kv.value
    create, version, lease = (0, 0, 0) if tomb else (kv.create_revision, kv.version,
                                                      kv.lease)
    digest = row_digest(main, sub, kv.key, create, main, version, value, lease, tomb)
    return (main, sub, kv.key, create, main, version, value, lease, tomb, digest)


def record_from_row(row: tuple) -> SnapshotRecord:
    main, sub, key, create, mod, version, value, lease, tomb, digest = row
    require_ints((main, sub, create, mod, version, lease, tomb, digest), "key row")
    if not isinstance(key, bytes) or not isinstance(value, bytes):
        raise ValueError(f"key row ({main}, {sub}) holds text where bytes belong")
    if row_digest(main, sub, key, create, mod, version, value, lease, tomb) != digest:
        raise ValueError(f"key row ({main}, {sub}) fails its digest")
    if mod != main or tomb not in (0, 1):
        raise ValueError(f"key row ({main}, {sub}) is malformed")
    if tomb:
        if (create, version, lease, value) != (0, 0, 0, b""):
            raise ValueError(f"tombstone row ({main}, {sub}) carries a value")
        return SnapshotRecord(Revision(main, sub), ks.tombstone_kv(key, main), True)
    kv = KeyValue(key=key, create_revision=create, mod_revision=mod, version=version,
                  value=value, lease=lease)
    return SnapshotRecord(Revision(main, sub), kv, False)


def require_ints(values: tuple, what: str) -> None:
    if any(type(v) is not int for v in values):
        raise ValueError(f"{what} holds a non-integer where an integer belongs")


def check_meta_row(row: tuple) -> tuple[tuple, bytes]:
    version, index, current, compact, count, digest, checksum = row
    require_ints((version, index, current, compact, count, digest), "meta row")
    if not isinstance(checksum, bytes):
        raise ValueError("meta checksum is not bytes")
    if version != FORMAT_VERSION:
        raise ValueError(f"meta row format version {version}, expected {FORMAT_VERSION}")
    return (version, index, current, compact, count, digest & MASK), checksum
