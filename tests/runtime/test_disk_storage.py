"""DiskStorage: the Storage protocol over a data dir, reopen, snapshots, meta checks."""

from __future__ import annotations

import os
import stat

import pytest

from engine.raft.storage import Compacted, MemoryStorage, SnapshotOutOfDate, Unavailable
from engine.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMetadata
from engine.runtime.disk import (
    DATA_DIR_FORMAT_VERSION, DataDirMeta, DiskStorage, encode_meta,
)
from engine.runtime.errors import DataDirError, WALCorrupt

CLUSTER, NODE = 0xC1, 1
CS = ConfState(frozenset({1, 2, 3}))


def ents(lo: int, hi: int, term: int = 1) -> list[Entry]:
    return [Entry(term, i, data=f"put k{i}".encode()) for i in range(lo, hi + 1)]


def open_store(path, **kw) -> DiskStorage:
    kw.setdefault("segment_size", 400)
    kw.setdefault("keep_snapshots", 2)
    return DiskStorage.open(str(path), CLUSTER, NODE, **kw)


def same_as(store: DiskStorage, mem: MemoryStorage) -> None:
    """Every read of the Storage protocol agrees with a MemoryStorage fed the same writes."""
    assert store.initial_state() == mem.initial_state()
    assert store.snapshot() == mem.snapshot()
    assert (store.first_index(), store.last_index()) == (mem.first_index(), mem.last_index())
    lo, hi = store.first_index(), store.last_index()
    assert store.entries(lo, hi + 1) == mem.entries(lo, hi + 1)
    assert [store.term(i) for i in range(lo - 1, hi + 1)] == [
        mem.term(i) for i in range(lo - 1, hi + 1)]


def test_fresh_dir_layout_and_mode(tmp_path):
    d = tmp_path / "n1"
    open_store(d).close()
    assert sorted(os.listdir(d)) == ["meta", "snap", "wal"]
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    s = open_store(d)
    assert s.initial_state() == (HardState(), ConfState())
    assert (s.first_index(), s.last_index()) == (1, 0)


def test_matches_memory_storage_across_reopen(tmp_path):
    d, mem = tmp_path / "n1", MemoryStorage()
    s = open_store(d)
    for hs, batch in [(HardState(1, 1, 0), ents(1, 5)), (HardState(1, 1, 4), ents(6, 9)),
                      (HardState(2, 2, 6), ents(8, 10, term=2)), (None, ents(11, 12, 2))]:
        s.save(hs, batch)
        if hs:
            mem.set_hard_state(hs)
        mem.append(batch)
        same_as(s, mem)
    s.close()
    same_as(open_store(d), mem)


def test_create_snapshot_compacts_and_releases(tmp_path):
    d = tmp_path / "n1"
    s = open_store(d)
    for i in range(1, 41):
        s.save(HardState(1, 1, i), ents(i, i))
    segments = len(os.listdir(d / "wal"))
    for index in (10, 20, 30):
        snap = s.create_snapshot(index, CS, f"app@{index}".encode())
        assert snap.metadata == SnapshotMetadata(index, 1, CS)
    assert s.first_index() == 31
    with pytest.raises(Compacted):
        s.entries(30, 32)
    assert sorted(os.listdir(d / "snap")) == [
        "0000000000000001-0000000000000014.snap", "0000000000000001-000000000000001e.snap"]
    assert len(os.listdir(d / "wal")) < segments
    s.close()
    s = open_store(d)
    assert s.snapshot().data == b"app@30" and s.first_index() == 31 and s.last_index() == 40
    assert s.warnings == []


def test_a_snapshot_written_in_steps_yields_to_a_newer_one_received_meanwhile(tmp_path):
    """A member writes its own snapshot while its loop goes on; if the leader's snapshot
    is saved before it adopts its own, the older one is not adopted."""
    d = tmp_path / "n1"
    s = open_store(d)
    for i in range(1, 41):
        s.save(HardState(1, 1, i), ents(i, i))
    own = s.snapshot_at(20, CS, b"app@20")
    s.write_snapshot(own)
    assert s.first_index() == 1                        # written, not yet adopted
    received = Snapshot(SnapshotMetadata(30, 1, CS), b"app@30")
    s.save(HardState(1, 1, 40), [], received)
    assert not s.adopt_snapshot(own)
    assert s.snapshot().data == b"app@30" and s.first_index() == 31
    s.retire_old()
    s.close()
    s = open_store(d)
    assert s.snapshot().data == b"app@30" and s.first_index() == 31


def test_a_member_that_stops_between_writing_its_snapshot_and_adopting_it_reopens_on_it(
        tmp_path):
    d = tmp_path / "n1"
    s = open_store(d)
    for i in range(1, 41):
        s.save(HardState(1, 1, i), ents(i, i))
    s.write_snapshot(s.snapshot_at(30, CS, b"app@30"))
    s.save(HardState(1, 1, 41), ents(41, 41))          # the loop went on meanwhile
    s.close()                                           # and stopped before adopting it
    s = open_store(d)
    assert s.snapshot().data == b"app@30"
    assert (s.first_index(), s.last_index()) == (31, 41) and s.warnings == []


def test_corrupt_newest_snapshot_falls_back_to_older(tmp_path):
    d = tmp_path / "n1"
    s = open_store(d)
    for i in range(1, 41):
        s.save(HardState(1, 1, i), ents(i, i))
    s.create_snapshot(20, CS, b"app@20")
    s.create_snapshot(30, CS, b"app@30")
    s.close()
    newest = d / "snap" / "0000000000000001-000000000000001e.snap"
    data = bytearray(newest.read_bytes())
    data[-1] ^= 1
    newest.write_bytes(bytes(data))
    s = open_store(d)
    assert s.snapshot().data == b"app@20"
    assert s.entries(21, 41) == ents(21, 40)
    assert len(s.warnings) == 1 and str(newest) in s.warnings[0]


def test_received_snapshot(tmp_path):
    d = tmp_path / "n1"
    s = open_store(d)
    s.save(HardState(1, 1, 3), ents(1, 3))
    leader = Snapshot(SnapshotMetadata(100, 4, CS), b"leader state")
    s.save(HardState(4, 0, 100), [], snapshot=leader)
    s.save(HardState(4, 0, 101), ents(101, 102, term=4))
    assert s.snapshot() == leader and s.first_index() == 101
    s.close()
    s = open_store(d)
    assert s.snapshot() == leader
    assert s.entries(101, 103) == ents(101, 102, term=4)
    assert s.hard_state == HardState(4, 0, 101)


def test_write_validation_happens_before_any_io(tmp_path):
    d = tmp_path / "n1"
    s = open_store(d)
    s.save(HardState(1, 1, 2), ents(1, 3))
    size = sum(os.path.getsize(d / "wal" / n) for n in os.listdir(d / "wal"))
    with pytest.raises(Unavailable):
        s.save(None, ents(5, 6))
    with pytest.raises(ValueError, match="not consecutive"):
        s.save(None, [ents(4, 4)[0], ents(6, 6)[0]])
    with pytest.raises(ValueError, match="only 2 is committed"):
        s.create_snapshot(3, CS, b"")
    with pytest.raises(ValueError, match="commits it"):
        s.save(HardState(1, 1, 2), [], snapshot=Snapshot(SnapshotMetadata(9, 1, CS)))
    s.create_snapshot(2, CS, b"")
    with pytest.raises(SnapshotOutOfDate):
        s.create_snapshot(2, CS, b"")
    with pytest.raises(SnapshotOutOfDate):
        s.save(HardState(1, 1, 9), [], snapshot=Snapshot(SnapshotMetadata(1, 1, CS)))
    assert os.listdir(d / "snap") == ["0000000000000001-0000000000000002.snap"]
    assert sum(os.path.getsize(d / "wal" / n) for n in os.listdir(d / "wal")) > size


# -- the data dir belongs to one cluster and node -----------------------------------------

def test_other_cluster_or_node_is_refused(tmp_path):
    d = tmp_path / "n1"
    open_store(d).close()
    with pytest.raises(DataDirError, match="belongs to cluster 0xc1, not 0xc2"):
        DiskStorage.open(str(d), 0xC2, NODE)
    with pytest.raises(DataDirError, match="belongs to node 0x1, not 0x2"):
        DiskStorage.open(str(d), CLUSTER, 2)


def test_newer_format_is_refused(tmp_path):
    d = tmp_path / "n1"
    open_store(d).close()
    newer = DataDirMeta(DATA_DIR_FORMAT_VERSION + 1, CLUSTER, NODE)
    (d / "meta").write_bytes(encode_meta(newer) + b"future fields")
    with pytest.raises(DataDirError) as info:
        open_store(d)
    assert str(info.value) == (f"{d / 'meta'}: data dir format version 2 is newer than the"
                               " supported 1")


def test_damaged_meta_is_refused(tmp_path):
    d = tmp_path / "n1"
    open_store(d).close()
    data = bytearray((d / "meta").read_bytes())
    data[12] ^= 1
    (d / "meta").write_bytes(bytes(data))
    with pytest.raises(DataDirError, match="meta file crc mismatch"):
        open_store(d)
    (d / "meta").write_bytes(b"hello")
    with pytest.raises(DataDirError, match="not a raftviz meta file"):
        open_store(d)


def test_foreign_directory_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(DataDirError, match="not a raftviz data dir .*notes.txt"):
        open_store(tmp_path)


def test_wal_damage_surfaces_on_open(tmp_path):
    d = tmp_path / "n1"
    s = open_store(d)
    for i in range(1, 6):
        s.save(HardState(1, 1, i), ents(i, i))
    s.close()
    (seg,) = os.listdir(d / "wal")
    data = bytearray((d / "wal" / seg).read_bytes())
    data[60] ^= 1
    (d / "wal" / seg).write_bytes(bytes(data))
    with pytest.raises(WALCorrupt, match=f"wal corrupt: .*{seg} at offset"):
        open_store(d)
