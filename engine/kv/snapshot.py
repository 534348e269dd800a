"""The snapshot format: the whole replicated keyspace as bytes, and strictly back.

Layout, all integers big-endian:

    magic   b"RVKVSNAP"
    u16     format version (1)
    u64     consistent index        i64 current revision        i64 compact revision
    u32     record count, then per record in revision order:
              i64 main, i64 sub, u8 kind (0 put, 1 tombstone), u32 + key bytes,
              and for a put: u32 + value bytes, i64 create_revision, i64 version, i64 lease
    u32     lease count, then per lease in id order: i64 id, i64 ttl
    u32     alarm count, then per alarm in (type, member) order: u8 type, u64 member id
    u32     CRC-32 (zlib) of everything before it

Only replicated state is written (no lease deadlines, no watchers), in a fixed order, so
members with the same applied history produce identical bytes. Decoding checks the
checksum, the version, every length and the ordering; anything off raises SnapshotError.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Collection, Iterator
from dataclasses import dataclass

from .errors import SnapshotError
from .index import Revision
from .types import AlarmMember, AlarmType, KeyValue

MAGIC = b"RVKVSNAP"
FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class SnapshotRecord:
    rev: Revision
    kv: KeyValue
    tombstone: bool


@dataclass(frozen=True, slots=True)
class SnapshotState:
    consistent_index: int
    current_rev: int
    compact_rev: int
    records: Collection[SnapshotRecord]    # in revision order
    leases: tuple[tuple[int, int], ...]  # (id, ttl)
    alarms: tuple[AlarmMember, ...]


def encode_snapshot(state: SnapshotState) -> bytes:
    return b"".join(snapshot_parts(state))


def snapshot_parts(state: SnapshotState) -> Iterator[bytes]:
    """The snapshot in pieces, a record at a time, the checksum last (computed as they
    go): a member encodes a big keyspace in steps, between turns of its loop, and joins
    the pieces off it."""
    crc = 0
    for part in _body_parts(state):
        crc = zlib.crc32(part, crc)
        yield part
    yield struct.pack(">I", crc)


def _body_parts(state: SnapshotState) -> Iterator[bytes]:
    yield MAGIC + struct.pack(">HQqqI", FORMAT_VERSION, state.consistent_index,
                              state.current_rev, state.compact_rev, len(state.records))
    for record in state.records:
        yield _encode_record(record)
    tail = [struct.pack(">I", len(state.leases))]
    tail.extend(struct.pack(">qq", lease_id, ttl) for lease_id, ttl in state.leases)
    tail.append(struct.pack(">I", len(state.alarms)))
    tail.extend(struct.pack(">BQ", a.alarm, a.member_id) for a in state.alarms)
    yield b"".join(tail)


def _encode_record(record: SnapshotRecord) -> bytes:
    kv = record.kv
    parts = [struct.pack(">qqBI", record.rev.main, record.rev.sub, record.tombstone,
                         len(kv.key)), kv.key]
    if not record.tombstone:
        parts += [struct.pack(">I", len(kv.value)), kv.value,
                  struct.pack(">qqq", kv.create_revision, kv.version, kv.lease)]
    return b"".join(parts)


class _Reader:
    """Reads fixed-layout fields, raising SnapshotError instead of running past the end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    def unpack(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))

    def take(self, size: int) -> bytes:
        if self._pos + size > len(self._data):
            raise SnapshotError("snapshot is truncated")
        chunk = self._data[self._pos:self._pos + size]
        self._pos += size
        return chunk

    def blob(self) -> bytes:
        (size,) = self.unpack(">I")
        return self.take(size)

    def at_end(self) -> bool:
        return self._pos == len(self._data)


def decode_snapshot(data: bytes) -> SnapshotState:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise SnapshotError("snapshot must be bytes")
    data = bytes(data)
    if len(data) < len(MAGIC) + 2 + 4 or not data.startswith(MAGIC):
        raise SnapshotError("not a raftviz keyspace snapshot")
    body, (crc,) = data[:-4], struct.unpack(">I", data[-4:])
    (version,) = struct.unpack(">H", body[len(MAGIC):len(MAGIC) + 2])
    if version != FORMAT_VERSION:
        raise SnapshotError(f"unsupported snapshot format version {version}")
    if zlib.crc32(body) != crc:
        raise SnapshotError("snapshot checksum mismatch")
    reader = _Reader(body)
    reader.take(len(MAGIC) + 2)
    index, current, compact = reader.unpack(">Qqq")
    records = tuple(_decode_record(reader) for _ in range(reader.unpack(">I")[0]))
    leases = tuple(reader.unpack(">qq") for _ in range(reader.unpack(">I")[0]))
    alarms = tuple(_decode_alarm(reader) for _ in range(reader.unpack(">I")[0]))
    if not reader.at_end():
        raise SnapshotError("snapshot has trailing bytes")
    state = SnapshotState(index, current, compact, records, leases, alarms)
    _check_order(state)
    return state


def _decode_record(reader: _Reader) -> SnapshotRecord:
    main, sub, kind = reader.unpack(">qqB")
    if kind not in (0, 1):
        raise SnapshotError(f"unknown record kind {kind}")
    key = reader.blob()
    if kind == 1:
        return SnapshotRecord(Revision(main, sub), KeyValue(key=key, mod_revision=main), True)
    value = reader.blob()
    create, version, lease = reader.unpack(">qqq")
    kv = KeyValue(key=key, create_revision=create, mod_revision=main, version=version,
                  value=value, lease=lease)
    return SnapshotRecord(Revision(main, sub), kv, False)


def _decode_alarm(reader: _Reader) -> AlarmMember:
    kind, member = reader.unpack(">BQ")
    try:
        return AlarmMember(member, AlarmType(kind))
    except ValueError:
        raise SnapshotError(f"unknown alarm type {kind}") from None


def _check_order(state: SnapshotState) -> None:
    """Reject states no store could have written: the fixed orders and revision bounds."""
    if not 0 <= state.compact_rev <= state.current_rev or state.current_rev < 1:
        raise SnapshotError("snapshot revisions out of order")
    revs = [record.rev for record in state.records]
    if revs != sorted(set(revs)) or any(r.main < 2 or r.sub < 0 for r in revs) \
            or (revs and revs[-1].main > state.current_rev):
        raise SnapshotError("snapshot records out of order")
    ids = [lease_id for lease_id, _ in state.leases]
    if ids != sorted(set(ids)) or 0 in ids:
        raise SnapshotError("snapshot leases out of order")
    alarms = [(a.alarm, a.member_id) for a in state.alarms]
    if alarms != sorted(set(alarms)):
        raise SnapshotError("snapshot alarms out of order")
