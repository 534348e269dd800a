"""WAL records and how a segment's bytes are split into them, torn tails included.

A record is `[u32 payload length][u32 crc32][u8 type][payload]`, big-endian. The CRC
covers the length, the type and the payload, so a flipped length or type is caught too.

Reading a segment stops at the first record that fails. In the last segment, a failure is a
*torn tail* (a write the crash cut short, never acknowledged) when:
- fewer bytes are left than a record header, or everything left is zero (preallocation);
- the declared length runs past the end of the file and no valid record starts anywhere
  after it (a flipped length bit in the middle of the file leaves valid records behind);
- the CRC fails and the record ends exactly at the end of the file.
Anything else, anywhere, is corruption: `WALCorrupt` naming the file and byte offset.
A segment's header record (offset 0) is never torn: segments appear by atomic rename.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass

from .errors import WALCorrupt

HEAD = struct.Struct(">IIB")     # payload length, crc32, record type
_LEN = struct.Struct(">I")


class RecordType(enum.IntEnum):
    METADATA = 1        # segment header: format version, cluster id, seq, first index
    ENTRY = 2           # one raft Entry (engine.wire encoding)
    HARD_STATE = 3      # one HardState (engine.wire encoding)
    SNAPSHOT = 4        # snapshot marker: index, term of a snapshot file


KNOWN_TYPES = frozenset(int(t) for t in RecordType)

# Why a record failed, which decides whether a tail failure may be a torn write.
SHORT, CRC, TYPE = "short", "crc", "type"


@dataclass(frozen=True, slots=True)
class Record:
    type: RecordType
    payload: bytes
    offset: int


@dataclass(frozen=True, slots=True)
class BadRecord:
    kind: str
    problem: str
    end: int        # where the record claims to end (for CRC failures)


@dataclass(frozen=True, slots=True)
class Scan:
    records: list[Record]
    end: int                 # offset just after the last good record
    torn: str | None         # why the bytes after `end` were judged a torn tail


def record_crc(length: int, rtype: int, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(bytes([rtype]), zlib.crc32(_LEN.pack(length))))


def encode_record(rtype: RecordType, payload: bytes) -> bytes:
    crc = record_crc(len(payload), rtype, payload)
    return HEAD.pack(len(payload), crc, rtype) + payload


def read_record(data: bytes, pos: int) -> Record | BadRecord:
    """The record at `pos`, or why there is none; lengths are checked before slicing."""
    left = len(data) - pos
    if left < HEAD.size:
        return BadRecord(SHORT, f"short record header ({left} of {HEAD.size} bytes)", pos)
    length, crc, rtype = HEAD.unpack_from(data, pos)
    end = pos + HEAD.size + length
    if end > len(data):
        return BadRecord(
            SHORT, f"record length {length} runs past end of file"
                   f" ({left - HEAD.size} bytes left)", end)
    payload = data[pos + HEAD.size:end]
    if record_crc(length, rtype, payload) != crc:
        return BadRecord(CRC, "crc mismatch", end)
    if rtype not in KNOWN_TYPES:
        return BadRecord(TYPE, f"unknown record type {rtype}", end)
    return Record(RecordType(rtype), payload, pos)


def _valid_record_after(data: bytes, start: int) -> bool:
    """Is there any whole, CRC-valid record starting at or after `start`? Cheap checks first:
    only a torn tail is scanned, so this is bounded by the size of the last write."""
    for off in range(start, len(data) - HEAD.size + 1):
        length, _, rtype = HEAD.unpack_from(data, off)
        if rtype in KNOWN_TYPES and off + HEAD.size + length <= len(data):
            if isinstance(read_record(data, off), Record):
                return True
    return False


def _is_torn_tail(data: bytes, pos: int, bad: BadRecord) -> bool:
    if not data[pos:].strip(b"\0"):
        return True
    if bad.kind == SHORT:
        return not _valid_record_after(data, pos + 1)
    if bad.kind == CRC:
        return bad.end == len(data)
    return False


def scan_segment(data: bytes, path: str, is_last: bool) -> Scan:
    """Split a segment into records. A torn tail is reported (only in the last segment and
    never over the header); every other failure raises WALCorrupt."""
    records: list[Record] = []
    pos = 0
    while pos < len(data):
        rec = read_record(data, pos)
        if isinstance(rec, Record):
            records.append(rec)
            pos += HEAD.size + len(rec.payload)
            continue
        if is_last and pos > 0 and _is_torn_tail(data, pos, rec):
            return Scan(records, pos, rec.problem)
        raise WALCorrupt(f"wal corrupt: {path} at offset {pos}: {rec.problem}")
    if not records:
        raise WALCorrupt(f"wal corrupt: {path} at offset 0: empty segment, no header")
    return Scan(records, pos, None)
