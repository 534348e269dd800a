"""Fuzz what a member reads back from its disk: WAL segments (`scan_segment`, and
`WAL.open` on a real file), snapshot files (`decode_snap_file`, and the `Snapshotter`
loading real files) and the data dir's meta file.

Only the documented errors may come out: WALCorrupt (or DataDirError, for a header of
another cluster or a newer format) from the WAL, SnapCorrupt from snapshot files,
DataDirError from the meta file. Where a decoder reads a stored file and refuses it, the
file must be byte for byte what it was: a failed read never "repairs" anything. One
example in a hundred goes through the file path, so a few hundred files are written.
"""

from __future__ import annotations

import os
import struct
import tempfile
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMetadata
from engine.runtime.disk import DataDirMeta, _claim_data_dir, decode_meta, encode_meta
from engine.runtime.errors import DataDirError, SnapCorrupt, WALCorrupt
from engine.runtime.fileops import REAL_FILE_OPS
from engine.runtime.snap import Snapshotter, decode_snap_file, encode_snap_file, snap_name
from engine.runtime.wal import WAL, segment_name
from engine.runtime.walrecord import HEAD, RecordType, encode_record, scan_segment
from engine.wire import encode_snapshot

from .fuzzing import FUZZ, Every, mutate

CLUSTER = 0xC1


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as path:
        yield path


def sample_segment() -> bytes:
    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, "wal")
        wal = WAL.create(path, CLUSTER)
        wal.save(HardState(1, 1, 0), [Entry(1, i, data=b"e%d" % i) for i in range(1, 4)])
        wal.save(HardState(2, 2, 3), [Entry(2, 4, data=b"x")])
        wal.close()
        with open(os.path.join(path, segment_name(1, 1)), "rb") as f:
            return f.read()


SEGMENT = sample_segment()
HEADER = SEGMENT[:HEAD.size + 28]          # the METADATA record every segment starts with


SNAP = Snapshot(SnapshotMetadata(7, 3, ConfState(frozenset({1, 2, 3}))), b"state" * 9)
SNAP_FILE = encode_snap_file(SNAP)
META = encode_meta(DataDirMeta(1, CLUSTER, 2))
wal_files, snap_files = Every(100), Every(100)


def records_from(data: bytes) -> bytes:
    """Valid-checksum records of every type cut from the bytes, behind the sample's
    header: the scan accepts them, so the record decoders are what gets fuzzed."""
    out, pos = bytearray(), 0
    while pos < len(data):
        size = data[pos] % 24
        rtype = RecordType(1 + data[pos] % len(RecordType))
        out += encode_record(rtype, data[pos + 1:pos + 1 + size])
        pos += 1 + size
    return bytes(out)


def scan_as_documented(data: bytes, is_last: bool) -> None:
    try:
        scan = scan_segment(data, "fuzz.wal", is_last)
    except WALCorrupt:
        return
    assert 0 < scan.end <= len(data) and scan.records[0].offset == 0
    assert scan.torn is not None or scan.end == len(data)
    assert [r.offset for r in scan.records] == sorted({r.offset for r in scan.records})


def open_as_documented(root: str, segment: bytes) -> None:
    path = os.path.join(root, "wal")
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        os.unlink(os.path.join(path, name))
    seg = os.path.join(path, segment_name(1, 1))
    with open(seg, "wb") as f:
        f.write(segment)
    try:
        WAL.open(path, CLUSTER).close()
    except (WALCorrupt, DataDirError):
        with open(seg, "rb") as f:
            assert f.read() == segment, "a failed WAL open changed the segment"


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_wal_segments(workdir, data):
    built = HEADER + records_from(data)
    mutated = mutate(SEGMENT, data[:11] or b"\0")
    for segment in (data, built, mutated):
        scan_as_documented(segment, is_last=True)
        scan_as_documented(segment, is_last=False)
    if wal_files():
        open_as_documented(workdir, built if data[:1] < b"\x80" else mutated)


def load_as_documented(root: str, blob: bytes) -> None:
    path = os.path.join(root, "snap")
    os.makedirs(path, exist_ok=True)
    name = os.path.join(path, snap_name(3, 7))
    with open(name, "wb") as f:
        f.write(blob)
    snapper = Snapshotter(path)
    try:
        snapper.load(snap_name(3, 7))
    except SnapCorrupt:
        loaded = snapper.load_newest()          # skips it, with a one-line report
        assert loaded.snapshot is None and len(loaded.skipped) == 1
    with open(name, "rb") as f:
        assert f.read() == blob, "loading a snapshot file changed it"


def claim_as_documented(root: str, blob: bytes) -> None:
    path = os.path.join(root, "datadir")
    os.makedirs(path, exist_ok=True)
    meta = os.path.join(path, "meta")
    with open(meta, "wb") as f:
        f.write(blob)
    try:
        _claim_data_dir(REAL_FILE_OPS, path, CLUSTER, 2)
    except DataDirError:
        pass
    with open(meta, "rb") as f:
        assert f.read() == blob, "checking the meta file changed it"


def header_for(body: bytes) -> bytes:
    """A snapshot file whose header is right for `body`, so the body decoder is reached."""
    magic, version = SNAP_FILE[:4], SNAP_FILE[4]
    return struct.pack(">4sBQI", magic, version, len(body), zlib.crc32(body)) + body


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_snapshot_and_meta_files(workdir, data):
    script = data[:11] or b"\0"
    blobs = (data, mutate(SNAP_FILE, script), header_for(mutate(encode_snapshot(SNAP), script)))
    for blob in blobs:
        try:
            decode_snap_file(blob, "fuzz.snap")
        except SnapCorrupt:
            pass
    for blob in (data, mutate(META, script)):
        try:
            decode_meta(blob, "meta")
        except DataDirError:
            pass
    if snap_files():
        load_as_documented(workdir, blobs[data[0] % 3])
        claim_as_documented(workdir, mutate(META, script))


def test_the_samples_are_valid(workdir):
    assert scan_segment(SEGMENT, "s", True).torn is None
    assert decode_snap_file(header_for(encode_snapshot(SNAP)), "s") == SNAP
    assert decode_meta(META, "meta").cluster_id == CLUSTER
    open_as_documented(workdir, SEGMENT)
