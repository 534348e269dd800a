"""DiskStorage: the Raft core's Storage, made durable in a data directory.

    <data dir>/            mode 0700
        meta               format version, cluster id, node id (+ crc)
        wal/               write-ahead log segments (wal.py)
        snap/              snapshot files (snap.py)

Reads are served by an in-memory MemoryStorage rebuilt at open time from the newest usable
snapshot file plus the WAL entries after it. A snapshot file is usable when it passes its
checks, the WAL holds its marker, and the hard state's commit covers it (a file written by
an install that crashed before its hard state is not). Writes go to disk first, then to
memory, so memory never shows what a crash could take back.

WAL segments are released only up to the *oldest* snapshot file kept, so a corrupt newest
snapshot can be skipped and the node rebuilt from an older one plus the longer log.
"""

from __future__ import annotations

import os.path
import struct
import threading
import zlib
from dataclasses import dataclass

from engine.raft.storage import MemoryStorage, SnapshotOutOfDate, Unavailable
from engine.raft.types import (
    ConfState, Entry, HardState, Snapshot, SnapshotMetadata,
)

from .errors import DataDirError
from .fileops import REAL_FILE_OPS, FileOps
from .snap import DEFAULT_KEEP, Snapshotter
from .wal import DEFAULT_SEGMENT_SIZE, WAL, SnapMarker

DATA_DIR_FORMAT_VERSION = 1
META_MAGIC = b"RVDD"
_META = struct.Struct(">4sIQQ")      # magic, format version, cluster id, node id
_CRC = struct.Struct(">I")
_META_SIZE = _META.size + _CRC.size


@dataclass(frozen=True, slots=True)
class DataDirMeta:
    format_version: int
    cluster_id: int
    node_id: int


def encode_meta(meta: DataDirMeta) -> bytes:
    body = _META.pack(META_MAGIC, meta.format_version, meta.cluster_id, meta.node_id)
    return body + _CRC.pack(zlib.crc32(body))


def decode_meta(data: bytes, path: str) -> DataDirMeta:
    # Look at the version before the size: a newer format may well have a different size.
    if len(data) >= 8 and data[:4] == META_MAGIC:
        version = int.from_bytes(data[4:8], "big")
        if version > DATA_DIR_FORMAT_VERSION:
            raise DataDirError(f"{path}: data dir format version {version} is newer than"
                               f" the supported {DATA_DIR_FORMAT_VERSION}")
    if len(data) != _META_SIZE or data[:4] != META_MAGIC:
        raise DataDirError(f"{path}: not a raftviz meta file")
    if zlib.crc32(data[:_META.size]) != _CRC.unpack_from(data, _META.size)[0]:
        raise DataDirError(f"{path}: meta file crc mismatch")
    _, version, cluster_id, node_id = _META.unpack_from(data)
    return DataDirMeta(version, cluster_id, node_id)


def recorded_node_id(data_dir: str, fs: FileOps | None = None) -> int | None:
    """The member id a data dir belongs to, or None for a new (absent or empty) one."""
    fs = fs or REAL_FILE_OPS
    path = os.path.join(data_dir, "meta")
    if not fs.exists(path):
        return None
    return decode_meta(fs.read(path), path).node_id


def _ensure_dir(fs: FileOps, path: str) -> None:
    if not fs.isdir(path):
        fs.mkdir(path, 0o700)
        fs.fsync_dir(os.path.dirname(os.path.abspath(path)))


def _write_meta(fs: FileOps, path: str, meta: DataDirMeta) -> None:
    tmp = path + ".tmp"
    fd = fs.create(tmp)
    try:
        fs.write(fd, encode_meta(meta))
        fs.fsync(fd)
    finally:
        fs.close(fd)
    fs.rename(tmp, path)
    fs.fsync_dir(os.path.dirname(path))


def _claim_data_dir(fs: FileOps, data_dir: str, cluster_id: int, node_id: int) -> None:
    """Check the meta file, or write it into an empty directory."""
    path = os.path.join(data_dir, "meta")
    if not fs.exists(path):
        others = [n for n in fs.listdir(data_dir) if n != "meta.tmp"]
        if others:
            raise DataDirError(
                f"{data_dir}: not a raftviz data dir (no meta file, found {others[0]!r})")
        _write_meta(fs, path, DataDirMeta(DATA_DIR_FORMAT_VERSION, cluster_id, node_id))
        return
    meta = decode_meta(fs.read(path), path)
    if meta.cluster_id != cluster_id:
        raise DataDirError(f"{data_dir}: belongs to cluster {meta.cluster_id:#x},"
                           f" not {cluster_id:#x}")
    if meta.node_id != node_id:
        raise DataDirError(f"{data_dir}: belongs to node {meta.node_id:#x}, not {node_id:#x}")


class DiskStorage:
    """Storage protocol reads from memory; `save` / `create_snapshot` write through."""

    def __init__(self, data_dir: str, cluster_id: int, node_id: int, fs: FileOps,
                 wal: WAL, snapshotter: Snapshotter) -> None:
        self.data_dir = data_dir
        self.cluster_id = cluster_id
        self.node_id = node_id
        self.fs = fs
        self.wal = wal
        self.snapshotter = snapshotter
        self.mem = MemoryStorage()
        self.warnings: list[str] = []   # repaired WAL tails, skipped snapshot files
        # A member writes its snapshot on one worker thread while the next Readies are
        # saved on another: the WAL, and the retiring of files, take one at a time.
        self._writing = threading.Lock()

    @classmethod
    def open(cls, data_dir: str, cluster_id: int, node_id: int, *,
             fs: FileOps | None = None, segment_size: int = DEFAULT_SEGMENT_SIZE,
             keep_snapshots: int = DEFAULT_KEEP) -> DiskStorage:
        """Open (creating if needed) a data dir and rebuild the in-memory state."""
        fs = fs or REAL_FILE_OPS
        _ensure_dir(fs, data_dir)
        _claim_data_dir(fs, data_dir, cluster_id, node_id)
        waldir, snapdir = os.path.join(data_dir, "wal"), os.path.join(data_dir, "snap")
        _ensure_dir(fs, snapdir)
        if WAL.exists(waldir, fs):
            wal = WAL.open(waldir, cluster_id, fs=fs, segment_size=segment_size)
        else:
            wal = WAL.create(waldir, cluster_id, fs=fs, segment_size=segment_size)
        store = cls(data_dir, cluster_id, node_id, fs, wal,
                    Snapshotter(snapdir, fs, keep_snapshots))
        store._recover()
        return store

    def _recover(self) -> None:
        markers = self.wal.snapshot_markers()
        commit = self.wal.hard_state.commit
        loaded = self.snapshotter.load_newest(
            lambda index, term: SnapMarker(index, term) in markers and index <= commit)
        self.warnings = self.wal.repairs + loaded.skipped
        snap = loaded.snapshot
        marker = SnapMarker(snap.metadata.index, snap.metadata.term) if snap else SnapMarker()
        replay = self.wal.replay(marker)
        if snap is not None:
            self.mem.apply_snapshot(snap)
        self.mem.set_hard_state(replay.hard_state)
        self.mem.append(replay.entries)

    # -- the Storage protocol --

    def initial_state(self) -> tuple[HardState, ConfState]:
        return self.mem.initial_state()

    def entries(self, lo: int, hi: int, max_size: int | None = None) -> list[Entry]:
        return self.mem.entries(lo, hi, max_size)

    def term(self, index: int) -> int:
        return self.mem.term(index)

    def first_index(self) -> int:
        return self.mem.first_index()

    def last_index(self) -> int:
        return self.mem.last_index()

    def snapshot(self) -> Snapshot:
        return self.mem.snapshot()

    @property
    def hard_state(self) -> HardState:
        return self.mem.hard_state

    # -- host-side writes --

    def save(self, hard_state: HardState | None, entries: list[Entry],
             snapshot: Snapshot | None = None, sync: bool = True) -> None:
        """Persist one Ready: a received snapshot (file first, then its WAL marker), the
        entries and the hard state, with one fsync when `sync`; then update memory."""
        with self._writing:
            self._save(hard_state, entries, snapshot, sync)

    def _save(self, hard_state: HardState | None, entries: list[Entry],
              snapshot: Snapshot | None, sync: bool) -> None:
        if snapshot is not None and snapshot.is_empty():
            snapshot = None
        if snapshot is not None:
            self._check_snapshot(snapshot, hard_state)
        self._check_entries(entries, snapshot)
        marker = None
        if snapshot is not None:
            self.snapshotter.save(snapshot)
            marker = SnapMarker(snapshot.metadata.index, snapshot.metadata.term)
        self.wal.save(hard_state, entries, snapshot=marker, sync=sync)
        if snapshot is not None:
            self.mem.apply_snapshot(snapshot)
        if hard_state is not None:
            self.mem.set_hard_state(hard_state)
        self.mem.append(entries)
        if snapshot is not None:
            self._retire_old()

    def _check_snapshot(self, snap: Snapshot, hard_state: HardState | None) -> None:
        if snap.metadata.index <= self.mem.snapshot().metadata.index:
            raise SnapshotOutOfDate(snap.metadata.index)
        # The hard state saved with a snapshot must commit it: on reopen, a marker beyond
        # the last commit is taken for an install that crashed half way and dropped.
        if hard_state is None or hard_state.commit < snap.metadata.index:
            raise ValueError(f"snapshot {snap.metadata.index} must be saved with a hard"
                             " state that commits it")

    def _check_entries(self, entries: list[Entry], snapshot: Snapshot | None) -> None:
        """Refuse a gap before anything is written: the WAL would be unreadable."""
        if not entries:
            return
        last = snapshot.metadata.index if snapshot else self.mem.last_index()
        if entries[0].index > last + 1:
            raise Unavailable(entries[0].index)
        for a, b in zip(entries, entries[1:]):
            if b.index != a.index + 1:
                raise ValueError(f"entries not consecutive: {a.index} then {b.index}")

    def create_snapshot(self, index: int, conf_state: ConfState, data: bytes) -> Snapshot:
        """Snapshot the applied state at `index`: write the snap file and its WAL marker,
        compact memory, then drop old snapshot files and the WAL segments behind them."""
        snap = self.snapshot_at(index, conf_state, data)
        self.write_snapshot(snap)
        self.adopt_snapshot(snap)
        self.retire_old()
        return snap

    # The same in three steps, for a member that writes on a worker thread while its loop
    # goes on: snapshot_at and adopt_snapshot on the thread that reads and saves, between
    # two saves; write_snapshot and retire_old on any thread.

    def snapshot_at(self, index: int, conf_state: ConfState, data: bytes) -> Snapshot:
        """The snapshot of the applied state at `index`, checked against the log."""
        if index <= self.mem.snapshot().metadata.index:
            raise SnapshotOutOfDate(index)
        if index > self.mem.last_index():
            raise Unavailable(index)
        if index > self.mem.hard_state.commit:
            raise ValueError(f"cannot snapshot index {index}: only"
                             f" {self.mem.hard_state.commit} is committed")
        return Snapshot(SnapshotMetadata(index, self.mem.term(index), conf_state), data)

    def write_snapshot(self, snap: Snapshot) -> None:
        """The snap file, then its WAL marker (fsynced): from here a restart can use it.
        Saves go on while the file is written; only the marker waits for the WAL."""
        self.snapshotter.save(snap)
        meta = snap.metadata
        with self._writing:
            self.wal.save_snapshot(SnapMarker(meta.index, meta.term), sync=True)

    def adopt_snapshot(self, snap: Snapshot) -> bool:
        """Serve reads from a written snapshot and drop the log it covers from memory;
        False if a newer snapshot (one received from the leader) came first."""
        meta = snap.metadata
        try:
            self.mem.create_snapshot(meta.index, meta.conf_state, snap.data)
        except SnapshotOutOfDate:
            return False
        self.mem.compact(meta.index)
        return True

    def retire_old(self) -> None:
        """Drop snapshot files beyond those kept, and the WAL segments behind them."""
        with self._writing:
            self._retire_old()

    def _retire_old(self) -> None:
        kept = self.snapshotter.purge()
        if kept:
            self.wal.release_to(min(index for index, _ in kept))

    def sync(self) -> None:
        self.wal.sync()

    def close(self) -> None:
        self.wal.close()
