"""The SQLite keyspace backend: round trips, incremental commits, replay after a restart,
refusing foreign, newer and tampered files, defragment, backup and the snapshot stream.

The seeded workload and the host loop here are shared by the crash and bit-flip tests.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import stat
import threading

import pytest

from engine.kv import (
    AlarmAction, AlarmRequest, AlarmType, CompactionRequest, Compare, CompareResult,
    CompareTarget, DeleteRangeRequest, KVError, KVStore, LeaseGrantRequest,
    LeaseRevokeRequest, PutRequest, RangeRequest, TxnRequest,
)
from engine.kv.snapshot import decode_snapshot
from engine.runtime.backend import Backend, BackendError, backend_path
from engine.runtime.backup import snapshot_db_bytes

SEED = 20240611


# --- the shared workload -------------------------------------------------------------------

def _random_request(rng: random.Random, kv: KVStore, leases: list[int]):
    key = f"key/{rng.randrange(40):02d}".encode()
    roll = rng.random()
    if roll < 0.55:
        lease = rng.choice(leases) if leases and rng.random() < 0.2 else 0
        return PutRequest(key, rng.randbytes(rng.choice((0, 8, 60, 300))), lease=lease)
    if roll < 0.65:
        return DeleteRangeRequest(key, b"key/%02d" % rng.randrange(40) if rng.random() < .3
                                  else b"")
    if roll < 0.75:
        cmp = Compare(key, CompareTarget.VERSION, CompareResult.GREATER, version=1)
        return TxnRequest((cmp,), (PutRequest(key, b"txn"), DeleteRangeRequest(b"key/00")),
                          (PutRequest(key, b"first"),))
    if roll < 0.80:
        leases.append(rng.randrange(1, 1 << 40))
        return LeaseGrantRequest(ttl=rng.randrange(5, 100), id=leases[-1])
    if roll < 0.84 and leases:
        return LeaseRevokeRequest(leases.pop(rng.randrange(len(leases))))
    if roll < 0.88 and kv.current_revision > kv.compact_revision + 2:
        return CompactionRequest(rng.randrange(kv.compact_revision + 1, kv.current_revision))
    if roll < 0.90:
        action = rng.choice((AlarmAction.ACTIVATE, AlarmAction.DEACTIVATE))
        return AlarmRequest(action, rng.choice((3, (1 << 64) - 9)), AlarmType.CORRUPT)
    return None          # a non-keyspace entry (conf change, a new term's empty entry)


def apply_entry(kv: KVStore, index: int, request) -> None:
    if request is None:
        kv.advance_consistent_index(index)
        return
    try:
        kv.apply(request, index=index, now=0.0)
    except KVError:
        pass             # refused entries count as applied all the same


def make_entries(n: int = 500, seed: int = SEED) -> list[tuple[int, object]]:
    """A seeded log of n entries (index, request or None), generated against a live
    store so compactions name real revisions. CORRUPT alarms are kept short-lived."""
    rng, kv, leases, entries = random.Random(seed), KVStore(), [], []
    for index in range(1, n + 1):
        request = _random_request(rng, kv, leases)
        if kv.alarms(AlarmType.CORRUPT):
            # The CORRUPT alarm refuses everything else; clear it right away.
            member = kv.alarms(AlarmType.CORRUPT)[0].member_id
            request = AlarmRequest(AlarmAction.DEACTIVATE, member, AlarmType.CORRUPT)
        entries.append((index, request))
        apply_entry(kv, index, request)
    return entries


def members_at(index: int) -> bytes:
    """The host's membership blob, changing now and then as the log goes on."""
    return b'{"members": "as of %d"}' % (index // 97)


def reference(entries, batch: int) -> dict[int, tuple[bytes, bytes]]:
    """consistent_index -> (kv snapshot bytes, members blob) after every batch."""
    kv, states = KVStore(), {}
    for start in range(0, len(entries), batch):
        for index, request in entries[start:start + batch]:
            apply_entry(kv, index, request)
        states[kv.consistent_index] = (kv.snapshot(), members_at(kv.consistent_index))
    return states


def run_host(path: str, entries, batch: int, stop_after: int | None = None) -> KVStore:
    """What a member does: load the backend, replay the log (apply skips entries at or
    below the loaded consistent_index), commit after every batch."""
    backend = Backend.open(path)
    try:
        kv, _ = backend.load()
        kv = kv or KVStore()
        for n, start in enumerate(range(0, len(entries), batch)):
            if stop_after is not None and n >= stop_after:
                break
            for index, request in entries[start:start + batch]:
                apply_entry(kv, index, request)
            backend.commit(kv, members_at(kv.consistent_index))
    finally:
        backend.close()
    return kv


def loaded_state(path: str) -> tuple[bytes, bytes] | None:
    backend = Backend.open(path, create=False)
    try:
        kv, members = backend.load()
        return None if kv is None else (kv.snapshot(), members)
    finally:
        backend.close()


ENTRIES = make_entries()


# --- round trips ---------------------------------------------------------------------------

def test_fresh_backend_is_private_and_empty(tmp_path):
    os.chmod(tmp_path, 0o700)
    path = str(tmp_path / "db")
    backend = Backend.open(path)
    assert backend.load() == (None, b"")
    backend.commit(KVStore(), b"m")
    for name in os.listdir(tmp_path):
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o600, name
    backend.close()
    assert backend_path("/d") == "/d/snap/db"


def test_workload_round_trips(tmp_path):
    path = str(tmp_path / "db")
    kv = run_host(path, ENTRIES, batch=16)
    assert kv.compact_revision > 0 and kv.alarms() == () and kv.lease_leases().leases
    backend = Backend.open(path, create=False)
    loaded, members = backend.load()
    assert loaded.snapshot() == kv.snapshot()
    assert members == members_at(len(ENTRIES))
    assert loaded.hash_kv().hash == kv.hash_kv().hash
    # Only what the store holds is on disk: compaction deleted the rest.
    assert backend.row_counts()["key"] == len(decode_snapshot(kv.snapshot()).records)
    backend.close()


def test_every_batch_boundary_reloads_exactly(tmp_path):
    states = reference(ENTRIES, batch=50)
    path = str(tmp_path / "db")
    for n, ci in enumerate(sorted(states), 1):
        run_host(path, ENTRIES[:n * 50], batch=50)
        assert loaded_state(path) == states[ci], f"after batch {n}"


def test_alarms_of_members_with_large_ids_round_trip(tmp_path):
    kv = KVStore()
    for index, member in enumerate((3, (1 << 64) - 9, 1 << 63, 7), 1):
        kv.apply(AlarmRequest(AlarmAction.ACTIVATE, member, AlarmType.NOSPACE), index=index)
    path = str(tmp_path / "db")
    backend = Backend.open(path)
    backend.commit(kv, b"m")
    backend.close()
    assert loaded_state(path) == (kv.snapshot(), b"m")


def test_row_count_follows_compaction(tmp_path):
    backend = Backend.open(str(tmp_path / "db"))
    kv = KVStore()
    for i in range(1, 41):
        kv.apply(PutRequest(b"k%d" % (i % 4), b"v%d" % i), index=i)
    backend.commit(kv, b"")
    assert backend.row_counts()["key"] == 40
    kv.apply(CompactionRequest(30), index=41)
    backend.commit(kv, b"")
    assert backend.row_counts()["key"] == 4 + 11   # one per key at 30, then 30 < rev <= 41
    backend.close()


def test_replay_after_restart_is_idempotent(tmp_path):
    """Stop part way, restart, replay the whole log from the start: the state is the one
    an uninterrupted run reaches."""
    path = str(tmp_path / "db")
    run_host(path, ENTRIES, batch=20, stop_after=7)
    assert loaded_state(path) == reference(ENTRIES, 20)[140]
    kv = run_host(path, ENTRIES, batch=33)
    assert loaded_state(path) == (kv.snapshot(), members_at(len(ENTRIES)))
    assert kv.snapshot() == reference(ENTRIES, len(ENTRIES))[len(ENTRIES)][0]


def test_installed_snapshot_is_written_whole(tmp_path):
    path = str(tmp_path / "db")
    run_host(path, ENTRIES[:200], batch=25)
    other = KVStore()
    for index, request in ENTRIES[:350]:
        apply_entry(other, index, request)
    backend = Backend.open(path)
    kv, _ = backend.load()
    kv.install_snapshot(other.snapshot())        # a leader's snapshot replaces history
    backend.commit(kv, b"new members")
    backend.close()
    assert loaded_state(path) == (other.snapshot(), b"new members")


def test_a_store_the_backend_never_saw_is_written_whole(tmp_path):
    path = str(tmp_path / "db")
    run_host(path, ENTRIES[:200], batch=25)
    fresh = KVStore()
    fresh.apply(PutRequest(b"only", b"this"), index=900)
    backend = Backend.open(path)
    backend.commit(fresh, b"m")      # no load(): the file's content is not trusted as base
    backend.close()
    assert loaded_state(path) == (fresh.snapshot(), b"m")


def test_failed_commit_leaves_the_file_as_it_was(tmp_path):
    path = str(tmp_path / "db")
    run_host(path, ENTRIES[:100], batch=100)
    before = loaded_state(path)
    backend = Backend.open(path)
    kv, _ = backend.load()
    for index, request in ENTRIES[100:200]:
        apply_entry(kv, index, request)
    with pytest.raises(TypeError):
        backend.commit(kv, None)             # fails after the records were written
    assert not backend._db.in_transaction
    backend.close()
    assert loaded_state(path) == before
    backend = Backend.open(path)
    backend.load()
    backend.commit(kv, b"again")
    backend.close()
    assert loaded_state(path) == (kv.snapshot(), b"again")


# --- refusing what is not ours or not intact --------------------------------------------

def expect_refused(path: str, *words: str) -> str:
    with pytest.raises(BackendError) as info:
        backend = Backend.open(path, create=False)
        try:
            backend.load()
        finally:
            backend.close()
    message = str(info.value)
    assert path in message and "\n" not in message, message
    for word in words:
        assert word in message, message
    return message


def test_foreign_files_are_refused(tmp_path):
    junk = tmp_path / "junk"
    junk.write_bytes(random.Random(1).randbytes(8192))
    expect_refused(str(junk), "damaged or not a raftviz backend db")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    expect_refused(str(other), "not a raftviz backend db")
    with pytest.raises(BackendError, match="no such file"):
        Backend.open(str(tmp_path / "missing"), create=False)
    with pytest.raises(BackendError, match="does not exist"):
        Backend.open(str(tmp_path / "nodir" / "db"))


def test_newer_format_is_refused(tmp_path):
    path = str(tmp_path / "db")
    run_host(path, ENTRIES[:50], batch=50)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 2")
    expect_refused(path, "format version 2 is newer than the supported 1")


def test_empty_sqlite_file_from_a_crashed_creation_starts_fresh(tmp_path):
    path = tmp_path / "db"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = WAL")
    backend = Backend.open(str(path))
    assert backend.load() == (None, b"")
    backend.close()


@pytest.mark.parametrize("tamper, words", [
    ("UPDATE \"key\" SET value = x'58' WHERE main = (SELECT max(main) FROM \"key\")"
     " AND tombstone = 0", "fails its digest"),
    ("DELETE FROM \"key\" WHERE main = (SELECT max(main) FROM \"key\")", "rows missing"),
    ("UPDATE meta SET consistent_index = consistent_index + 1", "meta checksum"),
    ("UPDATE lease SET ttl = ttl + 1", "meta checksum"),
    ("UPDATE members SET blob = x'00'", "meta checksum"),
    ("DELETE FROM members", "members row is missing"),
    ("UPDATE \"key\" SET value = 'text' WHERE main = (SELECT max(main) FROM \"key\")"
     " AND tombstone = 0", "text where bytes belong"),
    ("DELETE FROM meta", "records without a meta row"),
])
def test_tampered_content_is_detected(tmp_path, tamper, words):
    path = str(tmp_path / "db")
    run_host(path, ENTRIES, batch=100)
    with sqlite3.connect(path) as db:
        db.execute(tamper)
    expect_refused(path, "damaged", words)


# --- maintenance -----------------------------------------------------------------------------

def test_defragment_shrinks_and_keeps_everything(tmp_path):
    path = str(tmp_path / "db")
    backend = Backend.open(path)
    kv = KVStore()
    for i in range(1, 601):
        kv.apply(PutRequest(b"k%d" % (i % 5), bytes(2000)), index=i)
    backend.commit(kv, b"m")
    kv.apply(CompactionRequest(600), index=601)
    backend.commit(kv, b"m")
    assert backend.size_in_use_bytes() < backend.size_bytes() / 4
    before, after = backend.defragment()
    assert after < before / 4 and after == backend.size_bytes()
    assert os.path.getsize(path) == after
    backend.close()
    assert loaded_state(path) == (kv.snapshot(), b"m")


def test_backup_is_a_consistent_single_file_copy(tmp_path):
    path = str(tmp_path / "db")
    run_host(path, ENTRIES, batch=64)
    backend = Backend.open(path)
    dest = str(tmp_path / "copy.db")
    digest = backend.backup(dest)
    assert digest == hashlib.sha256(open(dest, "rb").read()).hexdigest()
    assert stat.S_IMODE(os.stat(dest).st_mode) == 0o600
    stream = backend.snapshot_stream()
    backend.close()
    assert snapshot_db_bytes(stream, "stream") == stream[:-32]
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert loaded_state(dest) == loaded_state(path)
    assert not os.path.exists(dest + "-wal")


def test_snapshot_stream_while_committing_sees_whole_commits(tmp_path):
    """Copies taken from another thread during commits each hold one committed state."""
    path = str(tmp_path / "db")
    states = reference(ENTRIES, batch=10)
    backend = Backend.open(path)
    streams, stop = [], threading.Event()

    def copier():
        while not stop.is_set() or not streams:
            streams.append(backend.snapshot_stream())

    thread = threading.Thread(target=copier)
    thread.start()
    kv = KVStore()
    for start in range(0, len(ENTRIES), 10):
        for index, request in ENTRIES[start:start + 10]:
            apply_entry(kv, index, request)
        backend.commit(kv, members_at(kv.consistent_index))
    stop.set()
    thread.join()
    backend.close()
    for n, stream in enumerate(streams[::max(1, len(streams) // 8)]):
        copy = tmp_path / f"copy{n}"
        copy.write_bytes(snapshot_db_bytes(stream, "stream"))
        got = loaded_state(str(copy))
        assert got is None or got == states[snapshot_index(got)]


def snapshot_index(state: tuple[bytes, bytes]) -> int:
    """The consistent_index inside a kv snapshot (its bytes 10..18)."""
    return int.from_bytes(state[0][10:18], "big")


def test_range_reads_after_reload_match(tmp_path):
    path = str(tmp_path / "db")
    kv = run_host(path, ENTRIES, batch=50)
    backend = Backend.open(path)
    loaded, _ = backend.load()
    backend.close()
    everything = RangeRequest(b"\0", b"\0")
    assert loaded.range(everything) == kv.range(everything)
