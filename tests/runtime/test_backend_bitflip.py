"""Flip 1,000 seeded single bits in backend files, one at a time, and load them. Each flip
must be one of:

- detected: BackendError, one line, naming the file (SQLite's header and quick_check,
  the row digests, the row count and digest sum, the meta checksum, the keyspace checks);
- harmless: the loaded keyspace and members blob are byte for byte the original ones
  (a flip in a free page, unused space of a page, or a header field SQLite ignores);
- for a flip in the -wal file only: a rollback to an earlier commit, whose state is
  exactly the one committed at its consistent_index (SQLite's frame checksums end the
  WAL at the damaged frame; the Raft log replays the rest, as after a crash).

Never a keyspace with different data.
"""

from __future__ import annotations

import os
import random
from collections import Counter

import pytest

from engine.kv import KVStore
from engine.runtime.backend import Backend, BackendError
from tests.runtime.test_backend import (
    ENTRIES, apply_entry, loaded_state, members_at, reference, run_host,
)

SEED = 4242
BATCH = 25
STATES = reference(ENTRIES, BATCH)


def build_closed(path: str) -> tuple[bytes, bytes]:
    """A closed backend (no -wal file), with free pages left by compaction."""
    kv = run_host(path, ENTRIES, batch=BATCH)
    assert not os.path.exists(path + "-wal")
    return kv.snapshot(), members_at(kv.consistent_index)


def build_open_pair(path: str) -> tuple[bytes, bytes]:
    """A db and its -wal file as a running member leaves them: the newest commits live
    only in the WAL. Returns the two files' bytes."""
    backend = Backend.open(path)
    backend._db.execute("PRAGMA wal_autocheckpoint = 0")
    kv = KVStore()
    for start in range(0, len(ENTRIES), BATCH):
        for index, request in ENTRIES[start:start + BATCH]:
            apply_entry(kv, index, request)
        backend.commit(kv, members_at(kv.consistent_index))
        if start == len(ENTRIES) - 2 * BATCH:
            backend._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pair = open(path, "rb").read(), open(path + "-wal", "rb").read()
    backend.close()
    return pair


def place(path: str, db: bytes, wal: bytes | None) -> None:
    for suffix in ("-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    with open(path, "wb") as f:
        f.write(db)
    if wal is not None:
        with open(path + "-wal", "wb") as f:
            f.write(wal)


def flipped(data: bytes, rng: random.Random) -> tuple[bytes, int]:
    bit = rng.randrange(len(data) * 8)
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out), bit // 8


def classify(path: str, original: tuple[bytes, bytes], in_wal: bool) -> str:
    try:
        state = loaded_state(path)
    except BackendError as exc:
        message = str(exc)
        assert path in message and "\n" not in message, message
        return "detected"
    if state == original:
        return "harmless"
    assert in_wal, "a flip in the db file served different data"
    ci = int.from_bytes(state[0][10:18], "big")
    assert ci < int.from_bytes(original[0][10:18], "big") and state == STATES[ci], \
        f"served a state that was never committed (index {ci})"
    return "rolled back"


@pytest.mark.slow
def test_thousand_bit_flips(tmp_path):
    closed = str(tmp_path / "closed.db")
    original = build_closed(closed)
    closed_db = open(closed, "rb").read()
    pair_path = str(tmp_path / "pair.db")
    pair = build_open_pair(pair_path)
    target, rng, outcomes = str(tmp_path / "flip.db"), random.Random(SEED), Counter()
    plan = [("db", 600), ("pair-db", 150), ("pair-wal", 250)]
    n = 0
    for kind, count in plan:
        for _ in range(count):
            if kind == "db":
                data, offset = flipped(closed_db, rng)
                place(target, data, None)
            elif kind == "pair-db":
                data, offset = flipped(pair[0], rng)
                place(target, data, pair[1])
            else:
                data, offset = flipped(pair[1], rng)
                place(target, pair[0], data)
            try:
                outcome = classify(target, original, kind == "pair-wal")
            except AssertionError as exc:
                raise AssertionError(f"flip #{n} (seed {SEED}) in {kind} byte {offset}:"
                                     f" {exc}") from None
            outcomes[kind, outcome] += 1
            n += 1
    assert n == 1000
    assert outcomes["db", "detected"] > 100, outcomes
    assert outcomes["db", "harmless"] > 0 and outcomes["pair-wal", "rolled back"] > 0, \
        outcomes
