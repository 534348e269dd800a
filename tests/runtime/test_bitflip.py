"""Flip 1,000 random single bits (seeded) in a closed data dir's WAL segments, snapshot
files and meta file, one at a time, and reopen. Each flip must be either

- detected: WALCorrupt naming the file, DataDirError, or the snapshot file skipped with a
  report (and an older snapshot plus the longer log served instead); or
- repaired as a torn tail, and only when it lies in the last record of the last segment;

and whatever is served must be data that was saved: never different bytes.
"""

from __future__ import annotations

import os
import random
import struct
from collections import Counter

import pytest

from engine.raft.types import ConfState, Entry, HardState
from engine.runtime.disk import DiskStorage
from engine.runtime.errors import DataDirError, WALCorrupt
from engine.runtime.walrecord import HEAD

CLUSTER, NODE = 0xC1, 3
CS = ConfState(frozenset({1, 2, 3}))
OPTS = dict(segment_size=400, keep_snapshots=2)
SEED = 1234


def build(path: str):
    """A data dir with several segments, two snapshot files and an overwritten suffix.
    Returns the expected log, every hard state saved, the final one, and snapshot data."""
    store = DiskStorage.open(path, CLUSTER, NODE, **OPTS)
    log, saved_hs, snaps = {}, [HardState()], {}

    def save(hs, ents):
        store.save(hs, ents)
        saved_hs.append(hs)
        for e in ents:
            for i in [i for i in log if i >= e.index]:
                del log[i]
            log[e.index] = e

    for i in range(1, 47):
        save(HardState(1, 1, max(0, i - 3)), [Entry(1, i, data=f"put k{i} v{i}".encode())])
    save(HardState(2, 2, 43), [Entry(2, i, data=f"t2 k{i}".encode()) for i in (44, 45)])
    for i in range(46, 61):
        save(HardState(2, 2, i - 2), [Entry(2, i, data=f"put k{i} v{i * 3}".encode())])
    for index in (20, 35, 50):
        data = f"application state at {index} ".encode() * 4
        snaps[index] = store.create_snapshot(index, CS, data)
    store.close()
    return log, saved_hs, snaps


def last_record_offset(path: str) -> int:
    data = open(path, "rb").read()
    pos = last = 0
    while pos < len(data):
        last = pos
        pos += HEAD.size + struct.unpack_from(">I", data, pos)[0]
    return last


def check_served(store: DiskStorage, log, saved_hs, snaps) -> None:
    r = store.snapshot().metadata.index
    assert store.snapshot() == snaps[r]
    assert store.hard_state in saved_hs
    for i in range(r + 1, store.last_index() + 1):
        assert store.entries(i, i + 1) == [log[i]]


def flip_one(rng: random.Random, files: list[str]) -> tuple[str, int, bytes]:
    path = rng.choice(files)
    original = open(path, "rb").read()
    bit = rng.randrange(len(original) * 8)
    data = bytearray(original)
    data[bit // 8] ^= 1 << (bit % 8)
    with open(path, "wb") as f:
        f.write(data)
    return path, bit // 8, original


def reopen_after_flip(path, offset, d, expected, wal_files) -> str:
    """Open the damaged dir and classify what happened; assert it is allowed."""
    log, saved_hs, snaps = expected
    try:
        store = DiskStorage.open(d, CLUSTER, NODE, **OPTS)
    except WALCorrupt as exc:
        assert path in str(exc) and "\n" not in str(exc)
        return "wal corrupt"
    except DataDirError as exc:
        assert path.endswith("meta"), str(exc)
        return "meta refused"
    try:
        check_served(store, log, saved_hs, snaps)
        assert not path.endswith("meta")
        if path in wal_files:
            # Only the last record of the last segment may be mistaken for a torn tail.
            assert path == wal_files[-1] and offset >= last_record_offset(path)
            assert any(path in w for w in store.warnings)
            return "torn tail repaired"
        if any(path in w for w in store.warnings):
            assert store.snapshot().metadata.index < max(snaps)
            return "snapshot skipped"
        assert store.snapshot().metadata.index == max(snaps)
        return "older snapshot, not read"
    finally:
        store.close()


@pytest.mark.slow
def test_thousand_bit_flips(tmp_path):
    d = str(tmp_path / "node")
    expected = build(d)
    wal_dir, snap_dir = os.path.join(d, "wal"), os.path.join(d, "snap")
    wal_files = [os.path.join(wal_dir, n) for n in sorted(os.listdir(wal_dir))]
    snap_files = [os.path.join(snap_dir, n) for n in sorted(os.listdir(snap_dir))]
    assert len(wal_files) >= 3 and len(snap_files) == 2
    last_original = [open(p, "rb").read() for p in wal_files]
    files = wal_files + snap_files + [os.path.join(d, "meta")]
    rng = random.Random(SEED)
    outcomes = Counter()
    for n in range(1000):
        path, offset, original = flip_one(rng, files)
        try:
            outcomes[reopen_after_flip(path, offset, d, expected, wal_files)] += 1
        except AssertionError as exc:
            raise AssertionError(f"flip #{n} (seed {SEED}) at {path} byte {offset}: {exc}")
        finally:
            with open(path, "wb") as f:
                f.write(original)
    assert [open(p, "rb").read() for p in wal_files] == last_original
    assert outcomes["wal corrupt"] > 300
    assert outcomes["snapshot skipped"] > 50 and outcomes["meta refused"] > 50
    assert outcomes["torn tail repaired"] > 0
