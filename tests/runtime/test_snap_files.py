"""Snapshot files: atomic writes, loading the newest valid one, reports, purging."""

from __future__ import annotations

import os

import pytest

from engine.raft.types import ConfState, Snapshot, SnapshotMetadata
from engine.runtime.crashfs import CrashingFileOps
from engine.runtime.errors import SnapCorrupt
from engine.runtime.snap import Snapshotter, decode_snap_file, snap_name

CS = ConfState(frozenset({1, 2, 3}))


def snap(index: int, term: int = 1, data: bytes | None = None) -> Snapshot:
    return Snapshot(SnapshotMetadata(index, term, CS), data or f"state@{index}".encode())


@pytest.fixture
def snapper(tmp_path) -> Snapshotter:
    return Snapshotter(str(tmp_path), keep=3)


def test_name_format():
    assert snap_name(2, 10) == "0000000000000002-000000000000000a.snap"


def test_save_and_load(snapper, tmp_path):
    path = snapper.save(snap(10, 2))
    assert os.path.basename(path) == snap_name(2, 10)
    loaded = snapper.load_newest()
    assert loaded.snapshot == snap(10, 2) and loaded.skipped == []


def test_write_is_atomic(tmp_path):
    fs = CrashingFileOps()
    Snapshotter(str(tmp_path), fs).save(snap(4))
    final = os.path.join(str(tmp_path), snap_name(1, 4))
    assert [t.split()[0] for t in fs.trace] == [
        "create", "write", "fsync", "rename", "fsync_dir"]
    assert fs.trace[0] == f"create {final}.tmp" and fs.trace[3] == f"rename {final}"


def test_empty_directory(snapper):
    assert snapper.load_newest().snapshot is None


def test_newest_is_by_index(snapper):
    for index, term in [(5, 3), (12, 2), (9, 4)]:
        snapper.save(snap(index, term))
    assert snapper.load_newest().snapshot.metadata.index == 12


def test_corrupt_newest_is_skipped_and_reported(snapper, tmp_path):
    snapper.save(snap(5))
    path = snapper.save(snap(9))
    data = bytearray(open(path, "rb").read())
    data[-2] ^= 0x10
    open(path, "wb").write(data)
    loaded = snapper.load_newest()
    assert loaded.snapshot == snap(5)
    assert loaded.skipped == [f"snap corrupt: {path}: crc mismatch; skipped"]


@pytest.mark.parametrize("damage, problem", [
    (lambda d: d[:10], "header needs"),
    (lambda d: b"XXXX" + d[4:], "bad magic"),
    (lambda d: d[:4] + b"\x07" + d[5:], "unsupported format version 7"),
    (lambda d: d[:-1], "body length"),
    (lambda d: d + b"\0", "body length"),
])
def test_every_damage_is_named(snapper, damage, problem):
    path = snapper.save(snap(5))
    data = open(path, "rb").read()
    with pytest.raises(SnapCorrupt, match=problem):
        decode_snap_file(damage(data), path)


def test_crc_valid_but_undecodable_body(tmp_path):
    import struct
    import zlib
    body = b"\xff" * 5
    data = struct.pack(">4sBQI", b"RVSN", 1, len(body), zlib.crc32(body)) + body
    with pytest.raises(SnapCorrupt, match="truncated snapshot"):
        decode_snap_file(data, "x.snap")


def test_renamed_file_does_not_match_its_metadata(snapper, tmp_path):
    path = snapper.save(snap(5))
    os.rename(path, tmp_path / snap_name(1, 6))
    loaded = snapper.load_newest()
    assert loaded.snapshot is None
    assert "does not match the file name" in loaded.skipped[0]


def test_accept_filter_passes_over_silently(snapper):
    snapper.save(snap(5))
    snapper.save(snap(9))
    loaded = snapper.load_newest(lambda index, term: index < 9)
    assert loaded.snapshot == snap(5) and loaded.skipped == []


def test_purge_keeps_newest_n_and_removes_tmp(snapper, tmp_path):
    for i in range(1, 7):
        snapper.save(snap(i * 10))
    (tmp_path / (snap_name(1, 99) + ".tmp")).write_bytes(b"half")
    (tmp_path / "unrelated.txt").write_bytes(b"keep me")
    kept = snapper.purge()
    assert kept == [(60, 1), (50, 1), (40, 1)]
    assert sorted(os.listdir(tmp_path)) == sorted(
        [snap_name(1, i) for i in (40, 50, 60)] + ["unrelated.txt"])


def test_refuses_empty_snapshot_and_bad_keep(snapper, tmp_path):
    with pytest.raises(ValueError):
        snapper.save(Snapshot())
    with pytest.raises(ValueError):
        Snapshotter(str(tmp_path), keep=0)
