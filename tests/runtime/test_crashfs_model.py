"""The crash-injecting file ops: the model the crash sweep relies on."""

from __future__ import annotations

import os

import pytest

from engine.runtime.crashfs import Crash, CrashingFileOps


def test_crash_after_n_calls_and_torn_write(tmp_path):
    fs = CrashingFileOps(crash_after=2, tear=0.5)
    fd = fs.create(str(tmp_path / "f"))                 # call 1
    fs.write(fd, b"aaaa")                               # call 2
    with pytest.raises(Crash, match="crashed at call 3: write"):
        fs.write(fd, b"bbbbbbbb")                       # torn: half reaches the file
    assert (tmp_path / "f").read_bytes() == b"aaaabbbb"
    with pytest.raises(Crash):
        fs.fsync(fd)                                    # the process stays dead
    fs.close(fd)


def test_power_loss_drops_unsynced_bytes_and_undoes_directory_changes(tmp_path):
    fs = CrashingFileOps(crash_after=9, power_loss=True)
    d = str(tmp_path)
    fd = fs.create(f"{d}/kept")
    fs.write(fd, b"durable")
    fs.fsync(fd)
    fs.fsync_dir(d)
    fs.write(fd, b" lost")                               # never fsynced
    fd2 = fs.create(f"{d}/new.tmp")
    fs.write(fd2, b"x")
    fs.fsync(fd2)
    fs.rename(f"{d}/new.tmp", f"{d}/new")               # call 9, dir never fsynced
    with pytest.raises(Crash):
        fs.unlink(f"{d}/kept")
    assert sorted(os.listdir(d)) == ["kept"]
    assert (tmp_path / "kept").read_bytes() == b"durable"


def test_power_loss_restores_unsynced_unlink(tmp_path):
    (tmp_path / "old").write_bytes(b"old segment")
    fs = CrashingFileOps(crash_after=1, power_loss=True)
    fs.unlink(str(tmp_path / "old"))
    with pytest.raises(Crash):
        fs.fsync_dir(str(tmp_path))
    assert (tmp_path / "old").read_bytes() == b"old segment"
