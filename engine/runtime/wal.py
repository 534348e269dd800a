"""The write-ahead log: Raft entries, hard states and snapshot markers in segment files.

A WAL is a directory of segments named `<seq>-<first index>.wal` (16 hex digits each, as
etcd does). Each segment starts with a METADATA record (format version, cluster id, seq,
first index) and the hard state current at the time it was cut, so releasing older
segments never loses the latest hard state. Records are described in walrecord.py.

Writes are group commits: `save()` encodes a snapshot marker, entries and a hard state, in
that order, writes them with one call and fsyncs once. Entries come before the hard state
so a durable commit index never points past durable entries. A segment is cut when it
reaches `segment_size`: the old one is fsynced first (an unsynced hole before a newer
segment would be corruption), the new one is written as a tmp file, fsynced and renamed.

Opening reads every segment: a torn tail of the last segment is truncated away (and
fsynced); so is a snapshot marker newer than the last hard state's commit together with
what follows it, which is what a crash in the middle of installing a leader's snapshot
leaves behind. Anything else that fails a check raises WALCorrupt.
"""

from __future__ import annotations

import os.path
import re
import struct
from dataclasses import dataclass

from engine.raft.types import EMPTY_HARD_STATE, Entry, HardState
from engine.wire import (
    WireError, decode_entry, decode_hard_state, encode_entry, encode_hard_state,
)

from .errors import DataDirError, WALCorrupt
from .fileops import REAL_FILE_OPS, FileOps
from .walrecord import Record, RecordType, encode_record, scan_segment

WAL_FORMAT_VERSION = 1
DEFAULT_SEGMENT_SIZE = 64 * 1024 * 1024
_METADATA = struct.Struct(">IQQQ")   # format version, cluster id, seq, first index
_MARKER = struct.Struct(">QQ")       # snapshot index, term
_SEGMENT_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.wal$")


@dataclass(frozen=True, slots=True, order=True)
class SnapMarker:
    """A snapshot the WAL knows about: entries up to `index` live in a snap file."""
    index: int = 0
    term: int = 0


@dataclass(frozen=True, slots=True)
class Replay:
    hard_state: HardState
    entries: list[Entry]         # everything after `snapshot.index`, in order
    snapshot: SnapMarker


@dataclass(frozen=True, slots=True)
class _Segment:
    seq: int
    first_index: int
    path: str


@dataclass(frozen=True, slots=True)
class _Item:
    """One decoded record and where it came from, for error messages and repairs."""
    type: RecordType
    value: Entry | HardState | SnapMarker
    segment: int
    offset: int


def segment_name(seq: int, first_index: int) -> str:
    return f"{seq:016x}-{first_index:016x}.wal"


def _corrupt(path: str, offset: int, problem: str) -> WALCorrupt:
    return WALCorrupt(f"wal corrupt: {path} at offset {offset}: {problem}")


class WAL:
    """An open WAL, positioned for appending at the end of its last segment."""

    def __init__(self, dirpath: str, cluster_id: int, fs: FileOps, segment_size: int) -> None:
        self.dir = dirpath
        self.cluster_id = cluster_id
        self.fs = fs
        self.segment_size = segment_size
        self.hard_state = EMPTY_HARD_STATE     # the last one saved, copied into new segments
        self.last_index = 0                    # names the next segment
        self.repairs: list[str] = []           # one line per repaired tail
        self._segments: list[_Segment] = []
        self._items: list[_Item] | None = []   # what open() read, until replay()
        self._fd: int | None = None
        self._size = 0

    # -- opening --

    @staticmethod
    def exists(dirpath: str, fs: FileOps = REAL_FILE_OPS) -> bool:
        return fs.isdir(dirpath) and any(
            _SEGMENT_NAME.match(n) for n in fs.listdir(dirpath))

    @classmethod
    def create(cls, dirpath: str, cluster_id: int, *, fs: FileOps = REAL_FILE_OPS,
               segment_size: int = DEFAULT_SEGMENT_SIZE) -> WAL:
        if not fs.isdir(dirpath):
            fs.mkdir(dirpath, 0o700)
            fs.fsync_dir(os.path.dirname(os.path.abspath(dirpath)))
        wal = cls(dirpath, cluster_id, fs, segment_size)
        wal._remove_tmp_files()
        if cls.exists(dirpath, fs):
            raise DataDirError(f"{dirpath}: wal already exists")
        wal._start_segment(seq=1, first_index=1)
        return wal

    @classmethod
    def open(cls, dirpath: str, cluster_id: int, *, fs: FileOps = REAL_FILE_OPS,
             segment_size: int = DEFAULT_SEGMENT_SIZE) -> WAL:
        wal = cls(dirpath, cluster_id, fs, segment_size)
        wal._remove_tmp_files()
        wal._segments = wal._list_segments()
        for n, seg in enumerate(wal._segments):
            wal._read_segment(n, seg)
        wal._drop_unfinished_snapshot()
        wal._resume()
        return wal

    def _remove_tmp_files(self) -> None:
        # A tmp file is a segment whose cut never reached its rename: never acknowledged.
        for name in self.fs.listdir(self.dir):
            if name.endswith(".wal.tmp"):
                self.fs.unlink(os.path.join(self.dir, name))

    def _list_segments(self) -> list[_Segment]:
        segs = []
        for name in self.fs.listdir(self.dir):
            m = _SEGMENT_NAME.match(name)
            if m:
                path = os.path.join(self.dir, name)
                segs.append(_Segment(int(m[1], 16), int(m[2], 16), path))
        if not segs:
            raise WALCorrupt(f"wal corrupt: {self.dir}: no segments")
        segs.sort(key=lambda s: s.seq)
        for prev, seg in zip(segs, segs[1:]):
            if seg.seq != prev.seq + 1:
                raise WALCorrupt(f"wal corrupt: {seg.path}: segment {prev.seq + 1:016x} missing")
        return segs

    def _read_segment(self, n: int, seg: _Segment) -> None:
        is_last = n == len(self._segments) - 1
        scan = scan_segment(self.fs.read(seg.path), seg.path, is_last)
        self._check_header(seg, scan.records[0])
        for rec in scan.records[1:]:
            self._items.append(_Item(rec.type, self._decode(seg, rec), n, rec.offset))
        if is_last:
            self._size = scan.end
        if scan.torn is not None:
            self._truncate_last(scan.end, f"torn tail ({scan.torn})")

    def _check_header(self, seg: _Segment, rec: Record) -> None:
        if rec.type is not RecordType.METADATA or len(rec.payload) != _METADATA.size:
            raise _corrupt(seg.path, 0, "first record is not a segment header")
        version, cluster_id, seq, first_index = _METADATA.unpack(rec.payload)
        if version > WAL_FORMAT_VERSION:
            raise DataDirError(
                f"{seg.path}: wal format version {version} is newer than the supported"
                f" {WAL_FORMAT_VERSION}")
        if cluster_id != self.cluster_id:
            raise DataDirError(
                f"{seg.path}: wal belongs to cluster {cluster_id:#x}, not {self.cluster_id:#x}")
        if version < 1:
            raise _corrupt(seg.path, 0, f"bad wal format version {version}")
        if (seq, first_index) != (seg.seq, seg.first_index):
            raise _corrupt(seg.path, 0, "segment header does not match the file name")

    def _decode(self, seg: _Segment, rec: Record) -> Entry | HardState | SnapMarker:
        try:
            if rec.type is RecordType.ENTRY:
                return decode_entry(rec.payload)
            if rec.type is RecordType.HARD_STATE:
                return decode_hard_state(rec.payload)
            if rec.type is RecordType.SNAPSHOT and len(rec.payload) == _MARKER.size:
                return SnapMarker(*_MARKER.unpack(rec.payload))
        except WireError as exc:
            raise _corrupt(seg.path, rec.offset, str(exc)) from None
        raise _corrupt(seg.path, rec.offset, f"unexpected {rec.type.name} record")

    def _truncate_last(self, size: int, why: str) -> None:
        path = self._segments[-1].path
        self.fs.truncate(path, size)
        self._size = size
        fd = self.fs.open_append(path)
        try:
            self.fs.fsync(fd)
        finally:
            self.fs.close(fd)
        self.repairs.append(f"wal: truncated {path} at offset {size}: {why}")

    def _drop_unfinished_snapshot(self) -> None:
        """A leader's snapshot is saved as marker, entries, hard state (commit >= marker). A
        marker after the last hard state and beyond its commit is an install cut short by a
        crash: it and everything after it were never acknowledged."""
        items = self._items
        last_hs = max((i for i, it in enumerate(items) if it.type is RecordType.HARD_STATE),
                      default=-1)
        commit = items[last_hs].value.commit if last_hs >= 0 else 0
        for i in range(last_hs + 1, len(items)):
            it = items[i]
            if it.type is RecordType.SNAPSHOT and it.value.index > commit:
                if it.segment != len(self._segments) - 1:
                    raise _corrupt(self._segments[it.segment].path, it.offset,
                                   f"snapshot {it.value.index} beyond commit {commit}")
                del items[i:]
                self._truncate_last(it.offset, "unfinished snapshot install")
                return

    def _resume(self) -> None:
        """Position for appending: remember the last hard state and index, open the tail."""
        for it in self._items:
            if it.type is RecordType.HARD_STATE:
                self.hard_state = it.value
            elif it.type is RecordType.ENTRY:
                self.last_index = it.value.index
            else:
                self.last_index = max(self.last_index, it.value.index)
        self._fd = self.fs.open_append(self._segments[-1].path)

    # -- what was read --

    def snapshot_markers(self) -> set[SnapMarker]:
        return {it.value for it in self._loaded() if it.type is RecordType.SNAPSHOT}

    def replay(self, snapshot: SnapMarker = SnapMarker()) -> Replay:
        """The hard state and the entries after `snapshot`, with later entries overwriting
        a conflicting suffix as Raft's log truncation does. Called once, after open()."""
        items = self._loaded()
        base, ents = snapshot.index, []
        marker: _Item | None = None
        for it in items:
            if it.type is RecordType.SNAPSHOT:
                marker = it
            elif it.type is RecordType.ENTRY and it.value.index > base:
                pos = it.value.index - base - 1
                if pos > len(ents):
                    raise self._gap(it, base + len(ents), marker)
                del ents[pos:]
                ents.append(it.value)
        self._items = None
        return Replay(self.hard_state, ents, snapshot)

    def _gap(self, it: _Item, last: int, marker: _Item | None) -> WALCorrupt:
        path = self._segments[it.segment].path
        if marker is not None and marker.value.index == it.value.index - 1:
            return _corrupt(path, it.offset, f"entry {it.value.index} needs snapshot"
                            f" {marker.value.index}, which could not be loaded")
        return _corrupt(path, it.offset, f"entry {it.value.index} does not follow {last}")

    def _loaded(self) -> list[_Item]:
        if self._items is None:
            raise RuntimeError("the WAL was already replayed")
        return self._items

    # -- writing --

    def save(self, hard_state: HardState | None, entries: list[Entry],
             snapshot: SnapMarker | None = None, sync: bool = True) -> None:
        """Write a snapshot marker, entries and a hard state as one batch; fsync once."""
        parts = []
        if snapshot is not None:
            marker = _MARKER.pack(snapshot.index, snapshot.term)
            parts.append(encode_record(RecordType.SNAPSHOT, marker))
        parts += [encode_record(RecordType.ENTRY, encode_entry(e)) for e in entries]
        if hard_state is not None:
            parts.append(encode_record(RecordType.HARD_STATE, encode_hard_state(hard_state)))
        if not parts:
            return
        self._write(b"".join(parts), sync)
        if snapshot is not None:
            self.last_index = max(self.last_index, snapshot.index)
        if entries:
            self.last_index = entries[-1].index
        if hard_state is not None:
            self.hard_state = hard_state
        if self._size >= self.segment_size:
            self._cut()

    def save_snapshot(self, marker: SnapMarker, sync: bool = True) -> None:
        self.save(None, [], snapshot=marker, sync=sync)

    def _write(self, data: bytes, sync: bool) -> None:
        if self._fd is None:
            raise RuntimeError("the WAL is closed")
        self.fs.write(self._fd, data)
        self._size += len(data)
        if sync:
            self.fs.fsync(self._fd)

    def sync(self) -> None:
        if self._fd is not None:
            self.fs.fsync(self._fd)

    def _cut(self) -> None:
        self.fs.fsync(self._fd)
        last = self._segments[-1]
        self._start_segment(last.seq + 1, self.last_index + 1)

    def _start_segment(self, seq: int, first_index: int) -> None:
        """Write a new segment under a tmp name, fsync it, rename it in, fsync the dir."""
        path = os.path.join(self.dir, segment_name(seq, first_index))
        head = _METADATA.pack(WAL_FORMAT_VERSION, self.cluster_id, seq, first_index)
        data = encode_record(RecordType.METADATA, head)
        if self.hard_state != EMPTY_HARD_STATE:
            data += encode_record(RecordType.HARD_STATE, encode_hard_state(self.hard_state))
        tmp = path + ".tmp"
        fd = self.fs.create(tmp)
        try:
            self.fs.write(fd, data)
            self.fs.fsync(fd)
        finally:
            self.fs.close(fd)
        self.fs.rename(tmp, path)
        self.fs.fsync_dir(self.dir)
        if self._fd is not None:
            self.fs.close(self._fd)
        self._fd = self.fs.open_append(path)
        self._size = len(data)
        self._segments.append(_Segment(seq, first_index, path))

    def release_to(self, index: int) -> None:
        """Remove segments that hold nothing at or after `index`: every segment whose
        successor starts at or before it. The segment holding `index` and the last one stay."""
        n = 0
        while n + 1 < len(self._segments) and self._segments[n + 1].first_index <= index:
            n += 1
        if not n:
            return
        for seg in self._segments[:n]:   # oldest first: a crash leaves a contiguous run
            self.fs.unlink(seg.path)
        self.fs.fsync_dir(self.dir)
        del self._segments[:n]

    def segment_paths(self) -> list[str]:
        return [s.path for s in self._segments]

    def close(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                self.fs.fsync(fd)
            finally:
                self.fs.close(fd)
