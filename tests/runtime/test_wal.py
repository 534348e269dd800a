"""The WAL: group commit, rotation, replay semantics, torn tails and corruption."""

from __future__ import annotations

import os
import struct

import pytest

from engine.raft.types import Entry, EntryType, HardState
from engine.runtime.crashfs import CrashingFileOps
from engine.runtime.errors import DataDirError, WALCorrupt
from engine.runtime.wal import WAL, SnapMarker, segment_name
from engine.runtime.walrecord import HEAD, RecordType, encode_record, record_crc

CLUSTER = 0xC1


def ents(lo: int, hi: int, term: int = 1, size: int = 10) -> list[Entry]:
    return [Entry(term, i, EntryType.NORMAL, bytes([i % 256]) * size) for i in range(lo, hi + 1)]


def new_wal(tmp_path, **kw) -> WAL:
    return WAL.create(str(tmp_path / "wal"), CLUSTER, **kw)


def reopen(tmp_path, **kw) -> WAL:
    return WAL.open(str(tmp_path / "wal"), CLUSTER, **kw)


def only_segment(tmp_path) -> str:
    (name,) = os.listdir(tmp_path / "wal")
    return str(tmp_path / "wal" / name)


def write_basic(tmp_path) -> str:
    w = new_wal(tmp_path)
    w.save(HardState(1, 1, 0), ents(1, 3))
    w.save(HardState(1, 1, 2), ents(4, 5))
    w.close()
    return only_segment(tmp_path)


def test_round_trip(tmp_path):
    write_basic(tmp_path)
    r = reopen(tmp_path).replay()
    assert r.hard_state == HardState(1, 1, 2)
    assert r.entries == ents(1, 5)
    assert r.snapshot == SnapMarker()


def test_first_segment_name_and_mode(tmp_path):
    new_wal(tmp_path).close()
    assert os.listdir(tmp_path / "wal") == [segment_name(1, 1)]
    assert segment_name(1, 1) == "0000000000000001-0000000000000001.wal"
    assert oct(os.stat(tmp_path / "wal").st_mode & 0o777) == "0o700"


def test_save_is_one_write_and_one_fsync(tmp_path):
    fs = CrashingFileOps()
    w = new_wal(tmp_path, fs=fs)
    fs.trace.clear()
    w.save(HardState(1, 1, 0), ents(1, 50))
    assert [t.split()[0] for t in fs.trace] == ["write", "fsync"]
    fs.trace.clear()
    w.save(HardState(1, 1, 0), ents(51, 52), sync=False)
    assert [t.split()[0] for t in fs.trace] == ["write"]
    w.save(None, [])
    assert [t.split()[0] for t in fs.trace] == ["write"]


def test_rotation_keeps_hard_state_and_names_segments(tmp_path):
    w = new_wal(tmp_path, segment_size=200)
    for i in range(1, 21):
        w.save(HardState(1, 1, i - 1), ents(i, i))
    w.close()
    names = sorted(os.listdir(tmp_path / "wal"))
    assert len(names) > 5
    seqs = [int(n[:16], 16) for n in names]
    assert seqs == list(range(1, len(names) + 1))
    firsts = [int(n[17:33], 16) for n in names]
    assert firsts == sorted(firsts)
    r = reopen(tmp_path).replay()
    assert r.entries == ents(1, 20)
    assert r.hard_state == HardState(1, 1, 19)


def test_rotation_fsyncs_the_old_segment_before_cutting(tmp_path):
    fs = CrashingFileOps()
    w = new_wal(tmp_path, fs=fs, segment_size=100)
    fs.trace.clear()
    w.save(None, ents(1, 5), sync=False)
    ops = [t.split()[0] for t in fs.trace]
    assert ops == ["write", "fsync", "create", "write", "fsync", "rename", "fsync_dir"]


def test_conflicting_entries_overwrite_the_suffix(tmp_path):
    w = new_wal(tmp_path, segment_size=150)
    w.save(HardState(1, 1, 0), ents(1, 6))
    w.save(HardState(2, 2, 3), ents(4, 5, term=2))     # truncates old 4..6
    w.save(None, ents(6, 7, term=2))
    w.save(HardState(3, 3, 3), ents(5, 5, term=3))     # truncates 5..7 again
    w.close()
    r = reopen(tmp_path).replay()
    assert r.entries == ents(1, 3) + ents(4, 4, term=2) + ents(5, 5, term=3)
    assert r.hard_state == HardState(3, 3, 3)


def test_replay_after_snapshot_skips_compacted_entries(tmp_path):
    w = new_wal(tmp_path)
    w.save(HardState(1, 1, 8), ents(1, 8))
    w.save_snapshot(SnapMarker(5, 1))
    w.save(None, ents(9, 10))
    w.close()
    w = reopen(tmp_path)
    assert w.snapshot_markers() == {SnapMarker(5, 1)}
    r = w.replay(SnapMarker(5, 1))
    assert r.entries == ents(6, 10)
    assert r.snapshot == SnapMarker(5, 1)
    with pytest.raises(RuntimeError):
        w.replay()


def test_received_snapshot_jumps_ahead(tmp_path):
    w = new_wal(tmp_path)
    w.save(HardState(1, 1, 2), ents(1, 3))
    w.save(HardState(2, 0, 50), ents(51, 52, term=2), snapshot=SnapMarker(50, 2))
    w.close()
    assert reopen(tmp_path).replay(SnapMarker(50, 2)).entries == ents(51, 52, term=2)
    with pytest.raises(WALCorrupt, match="needs snapshot 50, which could not be loaded"):
        reopen(tmp_path).replay()


def test_unfinished_snapshot_install_is_dropped(tmp_path):
    w = new_wal(tmp_path)
    w.save(HardState(1, 1, 2), ents(1, 3))
    path = only_segment(tmp_path)
    good = os.path.getsize(path)
    # A crash after the marker and an entry of an install, before its hard state.
    w.save(None, ents(51, 51, term=2), snapshot=SnapMarker(50, 2))
    w.close()
    w = reopen(tmp_path)
    assert os.path.getsize(path) == good
    assert "unfinished snapshot install" in w.repairs[0]
    assert w.replay().entries == ents(1, 3)


def test_gap_is_corruption(tmp_path):
    w = new_wal(tmp_path)
    w.save(HardState(1, 1, 0), ents(1, 2))
    w.save(None, ents(5, 5))
    w.close()
    with pytest.raises(WALCorrupt, match=r"at offset \d+: entry 5 does not follow 2"):
        reopen(tmp_path).replay()


def test_release_to_keeps_the_segment_holding_the_index(tmp_path):
    w = new_wal(tmp_path, segment_size=150)
    for i in range(1, 31):
        w.save(HardState(1, 1, i), ents(i, i))
    before = w.segment_paths()
    firsts = [int(os.path.basename(p)[17:33], 16) for p in before]
    w.release_to(17)
    after = w.segment_paths()
    holder = max(i for i, f in enumerate(firsts) if f <= 17)
    assert after == before[holder:]
    assert sorted(os.listdir(tmp_path / "wal")) == [os.path.basename(p) for p in after]
    w.save_snapshot(SnapMarker(17, 1))
    w.close()
    r = reopen(tmp_path).replay(SnapMarker(17, 1))
    assert r.entries == ents(18, 30)
    w = reopen(tmp_path)
    w.release_to(10**9)                 # never removes the segment being written
    assert len(w.segment_paths()) == 1


def test_tmp_segments_are_removed(tmp_path):
    write_basic(tmp_path)
    junk = tmp_path / "wal" / (segment_name(2, 6) + ".tmp")
    junk.write_bytes(b"half a segment")
    reopen(tmp_path).close()
    assert not junk.exists()


# -- torn tails ---------------------------------------------------------------------------

def tail_cases(record: bytes):
    yield "short header", record[:5]
    yield "short payload", record[:-3]
    bad = bytearray(record)
    bad[-1] ^= 0x40
    yield "bad crc at the end", bytes(bad)
    yield "zero fill", b"\0" * 40


@pytest.mark.parametrize("case", ["short header", "short payload", "bad crc at the end",
                                  "zero fill"])
def test_torn_tail_is_truncated_and_fsynced(tmp_path, case):
    path = write_basic(tmp_path)
    good = os.path.getsize(path)
    record = encode_record(RecordType.ENTRY, b"x" * 40)
    tail = dict(tail_cases(record))[case]
    with open(path, "ab") as f:
        f.write(tail)
    fs = CrashingFileOps()
    w = reopen(tmp_path, fs=fs)
    assert os.path.getsize(path) == good
    assert f"truncate {path}" in fs.trace and f"fsync {path}" in fs.trace
    assert w.repairs and path in w.repairs[0]
    assert w.replay().entries == ents(1, 5)
    w.save(None, ents(6, 6))            # appending resumes at the repaired end
    w.close()
    assert reopen(tmp_path).replay().entries == ents(1, 6)


def corrupt_at(path: str, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x01]))


def record_offsets(path: str) -> list[int]:
    data = open(path, "rb").read()
    offs, pos = [], 0
    while pos < len(data):
        offs.append(pos)
        pos += HEAD.size + struct.unpack_from(">I", data, pos)[0]
    return offs


def test_bad_crc_in_the_middle_names_file_and_offset(tmp_path):
    path = write_basic(tmp_path)
    offs = record_offsets(path)
    corrupt_at(path, offs[2] + HEAD.size + 3)
    with pytest.raises(WALCorrupt) as info:
        reopen(tmp_path)
    assert str(info.value) == f"wal corrupt: {path} at offset {offs[2]}: crc mismatch"


def test_inflated_length_in_the_middle_is_not_taken_for_a_torn_tail(tmp_path):
    path = write_basic(tmp_path)
    offs = record_offsets(path)
    corrupt_at(path, offs[2])            # top byte of the length: runs past the end
    with pytest.raises(WALCorrupt, match=f"at offset {offs[2]}: record length"):
        reopen(tmp_path)


def test_bad_record_in_an_earlier_segment(tmp_path):
    w = new_wal(tmp_path, segment_size=150)
    for i in range(1, 10):
        w.save(HardState(1, 1, i), ents(i, i))
    w.close()
    first = sorted(os.listdir(tmp_path / "wal"))[0]
    path = str(tmp_path / "wal" / first)
    last = record_offsets(path)[-1]
    corrupt_at(path, last + HEAD.size)   # the last record, but not of the last segment
    with pytest.raises(WALCorrupt, match=f"{first} at offset {last}: crc mismatch"):
        reopen(tmp_path)


def test_damaged_header_is_never_torn(tmp_path):
    path = write_basic(tmp_path)
    corrupt_at(path, HEAD.size + 2)
    with pytest.raises(WALCorrupt, match="at offset 0: crc mismatch"):
        reopen(tmp_path)


def test_missing_segment(tmp_path):
    w = new_wal(tmp_path, segment_size=150)
    for i in range(1, 10):
        w.save(HardState(1, 1, i), ents(i, i))
    w.close()
    names = sorted(os.listdir(tmp_path / "wal"))
    os.unlink(tmp_path / "wal" / names[1])
    with pytest.raises(WALCorrupt, match="segment 0000000000000002 missing"):
        reopen(tmp_path)


def test_renamed_segment_does_not_match_its_header(tmp_path):
    path = write_basic(tmp_path)
    os.rename(path, tmp_path / "wal" / segment_name(1, 9))
    with pytest.raises(WALCorrupt, match="does not match the file name"):
        reopen(tmp_path)


def test_unknown_record_type_with_valid_crc(tmp_path):
    path = write_basic(tmp_path)
    good = os.path.getsize(path)
    with open(path, "ab") as f:          # a whole record, crc right, type unknown
        f.write(HEAD.pack(0, record_crc(0, 99, b""), 99))
    with pytest.raises(WALCorrupt, match=f"at offset {good}: unknown record type 99"):
        reopen(tmp_path)


def test_undecodable_entry_payload(tmp_path):
    path = write_basic(tmp_path)
    with open(path, "ab") as f:
        f.write(encode_record(RecordType.ENTRY, b"\0\1"))
    with pytest.raises(WALCorrupt, match="truncated entry"):
        reopen(tmp_path)


def test_other_cluster_and_newer_format_are_refused(tmp_path):
    write_basic(tmp_path)
    with pytest.raises(DataDirError, match="belongs to cluster 0xc1, not 0xc2"):
        WAL.open(str(tmp_path / "wal"), 0xC2)
    path = only_segment(tmp_path)
    data = open(path, "rb").read()
    (length,) = struct.unpack_from(">I", data)
    payload = bytearray(data[HEAD.size:HEAD.size + length])
    payload[3] = 2                           # format version 2
    with open(path, "wb") as f:
        f.write(encode_record(RecordType.METADATA, bytes(payload)))
        f.write(data[HEAD.size + length:])
    with pytest.raises(DataDirError, match="wal format version 2 is newer"):
        reopen(tmp_path)


def test_create_refuses_existing_wal(tmp_path):
    write_basic(tmp_path)
    with pytest.raises(DataDirError, match="already exists"):
        new_wal(tmp_path)


def test_segment_must_start_with_a_header(tmp_path):
    path = write_basic(tmp_path)
    with open(path, "wb") as f:
        f.write(encode_record(RecordType.ENTRY, b"\0" * 28))
    with pytest.raises(WALCorrupt, match="at offset 0: first record is not a segment header"):
        reopen(tmp_path)
