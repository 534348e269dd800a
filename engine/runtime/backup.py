"""Backend snapshots as files: the stream format, saving one, its status, and restoring a
member's data dir from it (etcdctl's `snapshot save | status | restore`).

A snapshot is what Maintenance.Snapshot streams: the backend file (a self-contained SQLite
db) followed by the 32-byte SHA-256 of it, as etcd appends to its bbolt db. A file's size
tells whether the trailer is there: SQLite files are whole pages (multiples of 512 bytes).

Restore builds a new data dir in `<dir>.part` (the backend with the new membership, a Raft
snapshot at the backend's consistent_index whose conf state is the new cluster's voters,
and a hard state committing it), then renames it into place: a crash leaves either no
data dir or a whole one. File writes go through FileOps so crash sweeps can cut them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass

from engine.raft.types import ConfState, HardState, Snapshot, SnapshotMetadata

from .backend import Backend, backend_path
from .disk import DiskStorage
from .errors import StorageError
from .fileops import REAL_FILE_OPS, FileOps
from .membership import Membership

HASH_SIZE = 32
SQLITE_MAGIC = b"SQLite format 3\x00"
RESTORE_TERM = 1


class BackupError(StorageError):
    """A snapshot file or stream that cannot be used, or a restore that cannot proceed."""


def has_hash_trailer(size: int) -> bool:
    return size % 512 == HASH_SIZE


def snapshot_db_bytes(data: bytes, path: str, skip_hash_check: bool = False) -> bytes:
    """The backend db inside a snapshot, its SHA-256 trailer checked (etcd's rules: a
    file without a trailer needs skip_hash_check, e.g. a db copied out of a data dir)."""
    if has_hash_trailer(len(data)):
        db, trailer = data[:-HASH_SIZE], data[-HASH_SIZE:]
        if not skip_hash_check and hashlib.sha256(db).digest() != trailer:
            raise BackupError(f"{path}: snapshot checksum mismatch")
    elif not skip_hash_check:
        raise BackupError(f"{path}: snapshot missing hash but --skip-hash-check=false")
    else:
        db = data
    if not db.startswith(SQLITE_MAGIC):
        raise BackupError(f"{path}: not a raftviz backend snapshot")
    return db


# --- saving a streamed snapshot ----------------------------------------------------------

def save_stream(chunks: Iterable[bytes], path: str, fs: FileOps = REAL_FILE_OPS) -> int:
    """Write a snapshot stream to `path` via `<path>.part`: fsync, check the trailer,
    rename, fsync the directory. Returns the size; BackupError if the stream is damaged
    (the part file is then removed)."""
    part = path + ".part"
    fd = fs.create(part, 0o600)
    try:
        size, tail, hasher = _write_chunks(fs, fd, chunks)
    except Exception:
        fs.unlink(part)          # a stream that broke off (the fd is closed by now)
        raise
    if hasher.digest() != tail or not has_hash_trailer(size):
        fs.unlink(part)
        raise BackupError(f"{path}: the streamed snapshot fails its SHA-256 check"
                          f" ({size} bytes received)")
    fs.rename(part, path)
    fs.fsync_dir(os.path.dirname(os.path.abspath(path)))
    return size


def _write_chunks(fs: FileOps, fd: int, chunks: Iterable[bytes]):
    size, tail, hasher = 0, b"", hashlib.sha256()
    try:
        for chunk in chunks:
            fs.write(fd, chunk)
            size += len(chunk)
            # Everything but the last 32 bytes seen so far is db content.
            tail += chunk
            hasher.update(tail[:-HASH_SIZE])
            tail = tail[-HASH_SIZE:]
        fs.fsync(fd)
    finally:
        fs.close(fd)
    return size, tail, hasher


# --- status ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SnapshotStatus:
    hash: int             # keyspace hash (engine.kv's hash_kv) at `revision`
    revision: int
    total_keys: int       # rows in every table, as etcd counts keys in every bucket
    total_size: int       # bytes of the db (without the trailer)
    consistent_index: int


def snapshot_status(path: str, skip_hash_check: bool = False) -> SnapshotStatus:
    """Check a snapshot file through and through (trailer, pages, every row) and sum it
    up. The file itself is never opened for writing: this works on a copy."""
    db = snapshot_db_bytes(_read(path), path, skip_hash_check)
    with tempfile.TemporaryDirectory(prefix="raftviz-status-") as tmp:
        copy = os.path.join(tmp, "db")
        with open(copy, "wb") as f:
            f.write(db)
        backend = _open_copy(copy, path)
        try:
            kv, _ = _load_copy(backend, path)
            keys = sum(backend.row_counts().values())
        finally:
            backend.close()
    return SnapshotStatus(kv.hash_kv().hash, kv.current_revision, keys, len(db),
                          kv.consistent_index)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise BackupError(f"{path}: cannot read: {e.strerror}") from None


def _open_copy(copy: str, path: str) -> Backend:
    try:
        return Backend.open(copy, create=False)
    except StorageError as e:
        raise BackupError(f"{path}: {_detail(e, copy)}") from None


def _load_copy(backend: Backend, path: str):
    try:
        kv, members = backend.load()
    except StorageError as e:
        raise BackupError(f"{path}: {_detail(e, backend.path)}") from None
    if kv is None:
        raise BackupError(f"{path}: the snapshot holds no committed keyspace")
    return kv, members


def _detail(e: Exception, copy: str) -> str:
    """The error without the temporary copy's path, which means nothing to the user."""
    return str(e).replace(f"backend {copy}: ", "")


# --- restore -----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Restored:
    data_dir: str
    member_id: int
    cluster_id: int
    index: int            # the Raft snapshot index = the backend's consistent_index
    revision: int


def restore_member(snapshot_path: str, data_dir: str, name: str, membership: Membership,
                   *, skip_hash_check: bool = False,
                   fs: FileOps = REAL_FILE_OPS) -> Restored:
    """Build member `name`'s data dir for the new cluster `membership` from a snapshot."""
    db = snapshot_db_bytes(_read(snapshot_path), snapshot_path, skip_hash_check)
    me = membership.by_name(name)
    if me is None:
        raise BackupError(f"--initial-cluster has no member named {name!r}")
    _claim_target(data_dir)
    part = data_dir.rstrip(os.sep) + ".part"
    if os.path.exists(part):
        shutil.rmtree(part)      # what a crashed restore left: never a usable data dir
    fs.mkdir(part, 0o700)
    fs.fsync_dir(os.path.dirname(os.path.abspath(part)))
    storage = DiskStorage.open(part, membership.cluster_id, me.id, fs=fs)
    try:
        index, revision = _build_member(storage, part, db, membership, snapshot_path, fs)
    finally:
        storage.close()
    fs.rename(part, data_dir)
    fs.fsync_dir(os.path.dirname(os.path.abspath(data_dir)))
    return Restored(data_dir, me.id, membership.cluster_id, index, revision)


def _claim_target(data_dir: str) -> None:
    if os.path.isdir(data_dir) and not os.listdir(data_dir):
        os.rmdir(data_dir)       # an empty directory is taken over, as etcd does
    elif os.path.exists(data_dir):
        raise BackupError(f"data-dir {data_dir!r} exists")
    parent = os.path.dirname(os.path.abspath(data_dir))
    os.makedirs(parent, mode=0o700, exist_ok=True)


def _build_member(storage: DiskStorage, part: str, db: bytes, membership: Membership,
                  snapshot_path: str, fs: FileOps) -> tuple[int, int]:
    """The backend with the new members and consistent_index, then the Raft snapshot
    and the hard state that commits it."""
    path = backend_path(part)
    _write_file(fs, path, db)
    members = membership.encode()
    backend = _open_copy(path, snapshot_path)
    try:
        kv, _ = _load_copy(backend, snapshot_path)
        index = max(kv.consistent_index, 1)   # a Raft snapshot needs an index above 0
        kv.advance_consistent_index(index)
        backend.commit(kv, members)
    finally:
        backend.close()
    _fsync_file(fs, path)
    fs.fsync_dir(os.path.dirname(path))       # the SQLite -wal file is gone for good
    data = struct.pack(">I", len(members)) + members + kv.snapshot()
    conf = ConfState(frozenset(membership.voters()), frozenset(membership.learners()))
    snap = Snapshot(SnapshotMetadata(index, RESTORE_TERM, conf), data)
    storage.save(HardState(term=RESTORE_TERM, vote=0, commit=index), [], snap)
    return index, kv.current_revision


def _write_file(fs: FileOps, path: str, data: bytes) -> None:
    fd = fs.create(path, 0o600)
    try:
        fs.write(fd, data)
        fs.fsync(fd)
    finally:
        fs.close(fd)
    fs.fsync_dir(os.path.dirname(path))


def _fsync_file(fs: FileOps, path: str) -> None:
    fd = fs.open_append(path)
    try:
        fs.fsync(fd)
    finally:
        fs.close(fd)
