"""Snapshot files: one Raft snapshot per `<term>-<index>.snap` file (16 hex digits each).

    [4s magic "RVSN"][u8 format version][u64 body length][u32 crc32(body)][body]

The body is `engine.wire.encode_snapshot`, big-endian like the rest. A file is written as
`<name>.tmp`, fsynced, renamed into place and the directory fsynced, so a reader sees a
whole snapshot or none. Loading walks files newest first (by index, then term) and skips,
with a one-line report each, any file that fails a check; purging keeps the newest N.
"""

from __future__ import annotations

import os.path
import re
import struct
import zlib
from dataclasses import dataclass, field
from typing import Callable

from engine.raft.types import Snapshot
from engine.wire import WireError, decode_snapshot, encode_snapshot

from .errors import SnapCorrupt
from .fileops import REAL_FILE_OPS, FileOps

SNAP_MAGIC = b"RVSN"
SNAP_FORMAT_VERSION = 1
DEFAULT_KEEP = 5
_HEAD = struct.Struct(">4sBQI")   # magic, format version, body length, crc32(body)
_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.snap$")


def snap_name(term: int, index: int) -> str:
    return f"{term:016x}-{index:016x}.snap"


def parse_snap_name(name: str) -> tuple[int, int] | None:
    """(index, term) of a snapshot file name, or None if it is not one."""
    m = _NAME.match(name)
    return (int(m[2], 16), int(m[1], 16)) if m else None


def encode_snap_file(snap: Snapshot) -> bytes:
    body = encode_snapshot(snap)
    return _HEAD.pack(SNAP_MAGIC, SNAP_FORMAT_VERSION, len(body), zlib.crc32(body)) + body


def decode_snap_file(data: bytes, path: str) -> Snapshot:
    """Check and decode a whole snapshot file; SnapCorrupt names what is wrong."""
    if len(data) < _HEAD.size:
        raise SnapCorrupt(f"snap corrupt: {path}: {len(data)} bytes, header needs {_HEAD.size}")
    magic, version, length, crc = _HEAD.unpack_from(data)
    if magic != SNAP_MAGIC:
        raise SnapCorrupt(f"snap corrupt: {path}: bad magic {magic!r}")
    if version != SNAP_FORMAT_VERSION:
        raise SnapCorrupt(f"snap corrupt: {path}: unsupported format version {version}")
    if length != len(data) - _HEAD.size:
        raise SnapCorrupt(
            f"snap corrupt: {path}: body length {length}, file has {len(data) - _HEAD.size}")
    body = data[_HEAD.size:]
    if zlib.crc32(body) != crc:
        raise SnapCorrupt(f"snap corrupt: {path}: crc mismatch")
    try:
        return decode_snapshot(body)
    except WireError as exc:
        raise SnapCorrupt(f"snap corrupt: {path}: {exc}") from None


@dataclass(slots=True)
class Loaded:
    snapshot: Snapshot | None          # None: no acceptable snapshot file
    skipped: list[str] = field(default_factory=list)   # one line per corrupt file


class Snapshotter:
    """The snapshot directory: save, load newest valid, purge."""

    def __init__(self, dirpath: str, fs: FileOps = REAL_FILE_OPS, keep: int = DEFAULT_KEEP):
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.dir = dirpath
        self.fs = fs
        self.keep = keep

    def save(self, snap: Snapshot) -> str:
        """Write a snapshot durably; return its path."""
        if snap.is_empty():
            raise ValueError("refusing to save an empty snapshot")
        meta = snap.metadata
        path = os.path.join(self.dir, snap_name(meta.term, meta.index))
        tmp = path + ".tmp"
        fd = self.fs.create(tmp)
        try:
            self.fs.write(fd, encode_snap_file(snap))
            self.fs.fsync(fd)
        finally:
            self.fs.close(fd)
        self.fs.rename(tmp, path)
        self.fs.fsync_dir(self.dir)
        return path

    def names(self) -> list[str]:
        """Snapshot file names, newest first."""
        found = [(parse_snap_name(n), n) for n in self.fs.listdir(self.dir)]
        return [n for key, n in sorted((p for p in found if p[0]), reverse=True)]

    def load(self, name: str) -> Snapshot:
        path = os.path.join(self.dir, name)
        snap = decode_snap_file(self.fs.read(path), path)
        if (snap.metadata.index, snap.metadata.term) != parse_snap_name(name):
            raise SnapCorrupt(f"snap corrupt: {path}: metadata does not match the file name")
        return snap

    def load_newest(self, accept: Callable[[int, int], bool] | None = None) -> Loaded:
        """The newest snapshot that passes its checks and `accept(index, term)`. Files that
        `accept` refuses are passed over silently; corrupt ones are reported in `skipped`."""
        loaded = Loaded(None)
        for name in self.names():
            if accept is not None and not accept(*parse_snap_name(name)):
                continue
            try:
                loaded.snapshot = self.load(name)
                return loaded
            except SnapCorrupt as exc:
                loaded.skipped.append(f"{exc}; skipped")
        return loaded

    def purge(self) -> list[tuple[int, int]]:
        """Delete all but the newest `keep` snapshot files and stray tmp files; return the
        (index, term) of those kept, newest first."""
        names = self.names()
        doomed = [os.path.join(self.dir, n) for n in names[self.keep:]]
        doomed += [os.path.join(self.dir, n) for n in self.fs.listdir(self.dir)
                   if n.endswith(".snap.tmp")]
        for path in doomed:
            self.fs.unlink(path)
        if doomed:
            self.fs.fsync_dir(self.dir)
        return [parse_snap_name(n) for n in names[:self.keep]]
