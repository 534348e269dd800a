"""The durable keyspace backend: one member's KVStore in an SQLite file (etcd's bbolt db).

    key      one row per change, keyed by revision (main, sub) like etcd's key bucket:
             key, create/mod revision, version, value, lease, tombstone, and a row digest
    lease    id, ttl                         alarm     type, member
    members  the host's membership blob (opaque here)
    meta     format version, consistent_index, current and compact revision, the row count
             and digest sum of `key`, and a checksum over all that and the small tables

The Raft WAL is the durability source. `commit` runs after each applied batch as one
transaction (WAL journal, synchronous=NORMAL), so a crash may lose the newest commits but
never tears one; the host then replays the log and KVStore.apply skips every entry at or
below the loaded consistent_index. Rows carry digests and meta a checksum over the whole
content, checked at load on top of SQLite's quick_check: a damaged or foreign file is a
BackendError naming it, never a keyspace served with different data.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from engine.kv import KVConfig, KVStore, SnapshotError
from engine.kv.snapshot import SnapshotRecord, SnapshotState
from engine.kv.types import AlarmMember, AlarmType

from . import backend_rows as layout
from . import keyspace_state as ks
from .backend_rows import FORMAT_VERSION
from .errors import StorageError

APPLICATION_ID = 0x52564B42          # "RVKB" in the SQLite header: this file is ours
SNAPSHOT_TMP = (".db-snapshot-", ".tmp")

_SCHEMA = """
CREATE TABLE meta (id INTEGER PRIMARY KEY CHECK (id = 1),
    format_version INTEGER NOT NULL, consistent_index INTEGER NOT NULL,
    current_revision INTEGER NOT NULL, compact_revision INTEGER NOT NULL,
    record_count INTEGER NOT NULL, record_digest INTEGER NOT NULL, checksum BLOB NOT NULL);
CREATE TABLE "key" (main INTEGER NOT NULL, sub INTEGER NOT NULL, "key" BLOB NOT NULL,
    create_revision INTEGER NOT NULL, mod_revision INTEGER NOT NULL,
    version INTEGER NOT NULL, value BLOB NOT NULL, lease INTEGER NOT NULL,
    tombstone INTEGER NOT NULL, digest INTEGER NOT NULL,
    PRIMARY KEY (main, sub)) WITHOUT ROWID;
CREATE TABLE lease (id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL);
CREATE TABLE alarm (type INTEGER NOT NULL, member INTEGER NOT NULL,
    PRIMARY KEY (type, member)) WITHOUT ROWID;
CREATE TABLE members (id INTEGER PRIMARY KEY CHECK (id = 1), blob BLOB NOT NULL);
"""
_RECORD_COLUMNS = ('main, sub, "key", create_revision, mod_revision, version, value, '
                   'lease, tombstone, digest')


class BackendError(StorageError):
    """The backend file cannot be used: damaged, foreign, newer, or the disk failed."""


class Loaded(NamedTuple):
    kv: KVStore | None        # None: nothing was ever committed to this file
    members: bytes


def backend_path(data_dir: str) -> str:
    """Where a member keeps its backend, as etcd does: <data dir>/snap/db."""
    return os.path.join(data_dir, "snap", "db")


@dataclass
class _Committed:
    """What the file holds as of the last commit (or load), to write only what changed."""
    history: object = None          # keyspace_state.history_identity of that store
    current_rev: int = 0
    compact_rev: int = 0
    count: int = 0
    digest: int = 0                 # sum of row digests mod 2**64
    lease_objects: tuple = ()
    lease_rows: list = field(default_factory=list)
    alarms: tuple = ()
    members: bytes | None = None
    aux: bytes = b""


class Backend:
    """An open backend file. Thread-safe: every use of the connection holds one lock."""

    def __init__(self, path: str, db: sqlite3.Connection) -> None:
        self.path = path
        self._db = db
        self._lock = threading.Lock()
        self._committed = _Committed()

    # --- opening ---------------------------------------------------------------------

    @classmethod
    def open(cls, path: str, *, create: bool = True) -> Backend:
        """Open (or, with `create`, start) the backend at `path`: mode 0600, checked."""
        exists = os.path.exists(path)
        if not exists and not create:
            raise BackendError(f"backend {path}: no such file")
        if not exists:
            _create_private(path)
        _remove_stale_copies(os.path.dirname(os.path.abspath(path)))
        try:
            db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as e:
            raise _error(path, e) from None
        backend = cls(path, db)
        try:
            backend._prepare()
        except sqlite3.Error as e:
            db.close()
            raise _error(path, e) from None
        except BaseException:
            db.close()
            raise
        return backend

    def _prepare(self) -> None:
        db = self._db
        db.execute("PRAGMA cell_size_check = ON")   # check every cell as it is read
        app_id = db.execute("PRAGMA application_id").fetchone()[0]
        empty = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if app_id == 0 and empty:
            # New, or a creation that crashed before its schema committed: nothing to lose.
            self._create_schema()
        elif app_id != APPLICATION_ID:
            raise BackendError(f"backend {self.path}: not a raftviz backend db"
                               f" (application id {app_id:#x})")
        else:
            self._check_version_and_pages()
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")

    def _create_schema(self) -> None:
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.executescript(
            "BEGIN;" + _SCHEMA + f"PRAGMA application_id = {APPLICATION_ID};"
            f"PRAGMA user_version = {FORMAT_VERSION}; COMMIT;")

    def _check_version_and_pages(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > FORMAT_VERSION:
            raise BackendError(f"backend {self.path}: format version {version} is newer"
                               f" than the supported {FORMAT_VERSION}")
        if version < 1:
            raise BackendError(f"backend {self.path}: unknown format version {version}")
        result = self._db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if result != "ok":
            raise self._damaged(f"quick_check: {result}")

    def _damaged(self, problem: str) -> BackendError:
        # quick_check's report opens with a "*** in database main ***" line: skip it.
        lines = [line.strip() for line in str(problem).splitlines()
                 if line.strip() and not line.startswith("***")]
        return BackendError(f"backend {self.path}: damaged: "
                            f"{lines[0] if lines else 'unknown problem'}")

    # --- loading ---------------------------------------------------------------------

    def load(self, config: KVConfig = KVConfig()) -> Loaded:
        """The committed keyspace and members blob, every row checked; (None, b"") for a
        backend nothing was committed to yet."""
        with self._lock:
            try:
                return self._load(config)
            except sqlite3.Error as e:
                raise self._damaged(str(e)) from None
            except (ValueError, TypeError, struct.error, OverflowError) as e:
                raise self._damaged(str(e)) from None

    def _load(self, config: KVConfig) -> Loaded:
        row = self._db.execute(
            "SELECT format_version, consistent_index, current_revision, compact_revision,"
            " record_count, record_digest, checksum FROM meta WHERE id = 1").fetchone()
        if row is None:
            if self._db.execute('SELECT count(*) FROM "key"').fetchone()[0]:
                raise ValueError("records without a meta row")
            self._committed = _Committed()
            return Loaded(None, b"")
        fields, checksum = layout.check_meta_row(row)
        records, count, digest = self._read_records()
        if (count, digest) != (fields[4], fields[5]):
            raise ValueError("the key table does not match meta (rows missing or altered)")
        lease_rows, alarms, members = self._read_small_tables()
        aux = layout.aux_digest(lease_rows, alarms, members)
        if layout.meta_checksum(fields, aux) != checksum:
            raise ValueError("meta checksum mismatch")
        state = SnapshotState(fields[1], fields[2], fields[3], records, tuple(lease_rows),
                              alarms)
        try:
            kv = ks.rebuild(state, config)
        except SnapshotError as e:
            raise ValueError(f"inconsistent keyspace: {e}") from None
        self._committed = _Committed(ks.history_identity(kv), fields[2], fields[3], count,
                                     digest, ks.lease_objects(kv), lease_rows,
                                     kv.alarms(), members, aux)
        return Loaded(kv, members)

    def _read_records(self) -> tuple[tuple[SnapshotRecord, ...], int, int]:
        records, digest = [], 0
        cursor = self._db.execute(f'SELECT {_RECORD_COLUMNS} FROM "key" ORDER BY main, sub')
        for row in cursor:
            records.append(layout.record_from_row(row))
            digest = (digest + row[9]) & layout.MASK
        return tuple(records), len(records), digest

    def _read_small_tables(self) -> tuple[list, tuple[AlarmMember, ...], bytes]:
        leases = self._db.execute("SELECT id, ttl FROM lease ORDER BY id").fetchall()
        for lease in leases:
            layout.require_ints(lease, "lease")
        alarms = []
        for kind, member in self._db.execute("SELECT type, member FROM alarm"):
            layout.require_ints((kind, member), "alarm")
            alarms.append(AlarmMember(member & layout.MASK, AlarmType(kind)))
        # The store's order: by type, then by the unsigned member id (SQLite sorts the
        # stored signed form, which puts ids from 2**63 on first).
        alarms.sort(key=lambda a: (a.alarm, a.member_id))
        row = self._db.execute("SELECT blob FROM members WHERE id = 1").fetchone()
        if row is None or not isinstance(row[0], bytes):
            raise ValueError("the members row is missing")
        return [tuple(lease) for lease in leases], tuple(alarms), row[0]

    # --- committing ------------------------------------------------------------------

    def commit(self, kv: KVStore, members: bytes) -> None:
        """Persist what changed in `kv` and `members` since the last commit or load, in
        one transaction. A store whose history was replaced (a Raft snapshot installed),
        or one this backend has not seen, is written whole."""
        with self._lock:
            try:
                self._commit(kv, members)
            except sqlite3.Error as e:
                raise BackendError(f"backend {self.path}: commit failed: {e}") from None

    def _commit(self, kv: KVStore, members: bytes) -> None:
        old = self._committed
        full = ks.history_identity(kv) is not old.history
        self._db.execute("BEGIN IMMEDIATE")
        try:
            new = self._write_records(kv, old, full)
            self._write_small_tables(kv, members, old, new, full)
            self._write_meta(kv, new)
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._committed = new

    def _write_records(self, kv: KVStore, old: _Committed, full: bool) -> _Committed:
        new = _Committed(ks.history_identity(kv), kv.current_revision, kv.compact_revision)
        if full:
            self._db.execute('DELETE FROM "key"')
            rows = ks.all_records(kv)
        else:
            new.count, new.digest = old.count, old.digest
            rows = ks.records_after(kv, old.current_rev)
        params = [layout.row_params(record) for record in rows]
        self._db.executemany(f'INSERT INTO "key" ({_RECORD_COLUMNS}) VALUES'
                             ' (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', params)
        new.count += len(params)
        new.digest = (new.digest + sum(p[9] for p in params)) & layout.MASK
        if not full and kv.compact_revision > old.compact_rev:
            self._drop_compacted(kv, new)
        return new

    def _drop_compacted(self, kv: KVStore, new: _Committed) -> None:
        """Delete the rows compaction dropped from the store: those at or below the
        compaction revision that the store no longer holds."""
        rows = self._db.execute('SELECT main, sub, digest FROM "key" WHERE main <= ?',
                                (kv.compact_revision,)).fetchall()
        gone = [(main, sub, d) for main, sub, d in rows if not ks.has_record(kv, main, sub)]
        self._db.executemany('DELETE FROM "key" WHERE main = ? AND sub = ?',
                             [(main, sub) for main, sub, _ in gone])
        new.count -= len(gone)
        new.digest = (new.digest - sum(d for _, _, d in gone)) & layout.MASK

    def _write_small_tables(self, kv: KVStore, members: bytes, old: _Committed,
                            new: _Committed, full: bool) -> None:
        new.lease_objects, new.lease_rows = ks.lease_objects(kv), old.lease_rows
        new.alarms, new.members, new.aux = kv.alarms(), members, old.aux
        leases_changed = full or not _same_objects(new.lease_objects, old.lease_objects)
        if leases_changed:
            new.lease_rows = ks.leases(kv)
            self._db.execute("DELETE FROM lease")
            self._db.executemany("INSERT INTO lease (id, ttl) VALUES (?, ?)",
                                 new.lease_rows)
        if full or new.alarms != old.alarms:
            self._db.execute("DELETE FROM alarm")
            self._db.executemany("INSERT INTO alarm (type, member) VALUES (?, ?)",
                                 [(int(a.alarm), layout.signed(a.member_id))
                                  for a in new.alarms])
        if full or members != old.members:
            self._db.execute("INSERT OR REPLACE INTO members (id, blob) VALUES (1, ?)",
                             (bytes(members),))
        if full or leases_changed or new.alarms != old.alarms or members != old.members:
            new.aux = layout.aux_digest(new.lease_rows, new.alarms, members)

    def _write_meta(self, kv: KVStore, new: _Committed) -> None:
        fields = (FORMAT_VERSION, kv.consistent_index, new.current_rev, new.compact_rev,
                  new.count, new.digest)
        self._db.execute(
            "INSERT OR REPLACE INTO meta (id, format_version, consistent_index,"
            " current_revision, compact_revision, record_count, record_digest, checksum)"
            " VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
            (*fields[:5], layout.signed(new.digest), layout.meta_checksum(fields, new.aux)))

    # --- maintenance -----------------------------------------------------------------

    def size_bytes(self) -> int:
        """The database's size (etcd's dbSize): every page, free ones included."""
        with self._lock:
            return self._pages("page_count") * self._pages("page_size")

    def size_in_use_bytes(self) -> int:
        """The pages that hold data (etcd's dbSizeInUse)."""
        with self._lock:
            used = self._pages("page_count") - self._pages("freelist_count")
            return used * self._pages("page_size")

    def _pages(self, pragma: str) -> int:
        return self._db.execute(f"PRAGMA {pragma}").fetchone()[0]

    def defragment(self) -> tuple[int, int]:
        """Rewrite the file without its free pages (VACUUM); (size before, size after)."""
        before = self.size_bytes()
        with self._lock:
            try:
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as e:
                raise BackendError(f"backend {self.path}: defragment failed: {e}") from None
        return before, self.size_bytes()

    def row_counts(self) -> dict[str, int]:
        """Rows per table, for `snapshot status`."""
        with self._lock:
            return {t: self._db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
                    for t in ("key", "lease", "alarm", "members", "meta")}

    # --- copies ----------------------------------------------------------------------

    def backup(self, dest: str) -> str:
        """Write a consistent copy of the committed backend to `dest` (a single file,
        mode 0600, fsynced, renamed into place); return its SHA-256 in hex."""
        part = dest + ".part"
        if os.path.exists(part):
            os.unlink(part)
        _create_private(part)
        self._copy_to(part)
        digest = _sha256_file(part)
        _fsync_path(part)
        os.replace(part, dest)
        _fsync_path(os.path.dirname(os.path.abspath(dest)))
        return digest

    def snapshot_stream(self) -> bytes:
        """What Maintenance.Snapshot sends: `snapshot_db()` followed by its 32-byte
        SHA-256 (etcd's format). Safe to call from any thread."""
        data = self.snapshot_db()
        return data + hashlib.sha256(data).digest()

    def snapshot_db(self) -> bytes:
        """A consistent copy of the committed backend as one self-contained SQLite file
        (a whole number of pages, so of 512-byte blocks). Safe to call from any thread."""
        fd, tmp = tempfile.mkstemp(prefix=SNAPSHOT_TMP[0], suffix=SNAPSHOT_TMP[1],
                                   dir=os.path.dirname(os.path.abspath(self.path)))
        os.close(fd)
        try:
            self._copy_to(tmp)
            with open(tmp, "rb") as f:
                data = f.read()
        finally:
            os.unlink(tmp)
        return data

    def _copy_to(self, dest: str) -> None:
        # A connection of its own: its read transaction sees one commit, whole, and never
        # waits for (or blocks) the host's commits.
        try:
            src = sqlite3.connect(self.path)
            dst = sqlite3.connect(dest)
            try:
                src.backup(dst)
                dst.execute("PRAGMA journal_mode = DELETE")   # a single self-contained file
            finally:
                dst.close()
                src.close()
        except sqlite3.Error as e:
            raise BackendError(f"backend {self.path}: copy to {dest} failed: {e}") from None

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _same_objects(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


# --- files -----------------------------------------------------------------------------

def _error(path: str, e: sqlite3.Error) -> BackendError:
    first = str(e).splitlines()[0] if str(e) else type(e).__name__
    return BackendError(f"backend {path}: damaged or not a raftviz backend db ({first})")


def _create_private(path: str) -> None:
    """Create an empty file readable by its owner only; SQLite gives its -wal and -shm
    files the same mode."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise BackendError(f"backend {path}: directory {parent} does not exist")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(fd, 0o600)
    os.close(fd)


def _remove_stale_copies(directory: str) -> None:
    """Snapshot copies a crash left behind (see snapshot_stream)."""
    prefix, suffix = SNAPSHOT_TMP
    for name in os.listdir(directory):
        if name.startswith(prefix) and name.endswith(suffix):
            os.unlink(os.path.join(directory, name))


def _sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
