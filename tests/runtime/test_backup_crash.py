"""Crash sweeps over the file writes of `snapshot save` and `snapshot restore`: kill the
"process" (or the machine) after every single filesystem call, in four ways, then check

- save: the snapshot file is absent or complete (never a partial file under its name),
  and saving again succeeds;
- restore: the data dir is absent, or whole and correct (DiskStorage and backend agree
  with the snapshot); restoring again after a crash succeeds and is correct.
"""

from __future__ import annotations

import os

import pytest

from engine.runtime.backend import Backend
from engine.runtime.backup import restore_member, save_stream
from engine.runtime.crashfs import Crash, CrashingFileOps
from engine.runtime.fileops import FileOps
from engine.runtime.membership import Membership
from tests.runtime.test_backend import ENTRIES, run_host
from tests.runtime.test_backup import check_restored

MODES = {
    "process-kill": dict(tear=0.0, power_loss=False),
    "process-kill-torn-write": dict(tear=0.5, power_loss=False),
    "power-loss": dict(tear=0.0, power_loss=True),
    "power-loss-torn": dict(tear=0.6, power_loss=True),
}
MEMBERSHIP = Membership.initial({"a": ("http://127.0.0.1:2380",),
                                 "b": ("http://127.0.0.1:2381",)}, "sweep")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A snapshot stream and the keyspace the restored member must hold."""
    tmp = tmp_path_factory.mktemp("source")
    kv = run_host(str(tmp / "db"), ENTRIES[:300], batch=30)
    backend = Backend.open(str(tmp / "db"))
    stream = backend.snapshot_stream()
    backend.close()
    (tmp / "snap.db").write_bytes(stream)
    return str(tmp / "snap.db"), stream, kv


def count_calls(fn) -> int:
    fs = CrashingFileOps()
    fn(fs)
    return fs.ops


# --- save ------------------------------------------------------------------------------------

def chunks_of(stream: bytes) -> list[bytes]:
    size = max(1, len(stream) // 24)
    return [stream[i:i + size] for i in range(0, len(stream), size)]


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_save_crash_sweep(tmp_path, source, mode):
    _, stream, _ = source
    calls = count_calls(lambda fs: save_stream(chunks_of(stream), str(tmp_path / "x"), fs))
    assert calls >= 28
    for n in range(calls):
        dest = str(tmp_path / f"snap{n}.db")
        with pytest.raises(Crash):
            save_stream(chunks_of(stream), dest, CrashingFileOps(n, **MODES[mode]))
        if os.path.exists(dest):
            assert open(dest, "rb").read() == stream, f"crash after {n} calls"
        save_stream(chunks_of(stream), dest, FileOps())
        assert open(dest, "rb").read() == stream
        assert not os.path.exists(dest + ".part")


# --- restore ---------------------------------------------------------------------------------

def restore(snapshot: str, data_dir: str, fs: FileOps):
    return restore_member(snapshot, data_dir, "b", MEMBERSHIP, fs=fs)


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_restore_crash_sweep(tmp_path, source, mode):
    snapshot, _, kv = source
    calls = count_calls(lambda fs: restore(snapshot, str(tmp_path / "probe"), fs))
    assert calls >= 30
    outcomes = {"absent": 0, "whole": 0}
    for n in range(calls):
        data_dir = str(tmp_path / f"m{n}")
        with pytest.raises(Crash):
            restore(snapshot, data_dir, CrashingFileOps(n, **MODES[mode]))
        if os.path.exists(data_dir):
            outcomes["whole"] += 1
        else:
            outcomes["absent"] += 1
            restore(snapshot, data_dir, FileOps())       # run again: it just works
        assert not os.path.exists(data_dir + ".part"), f"crash after {n} calls"
        check_restored(data_dir, "b", MEMBERSHIP, kv)
    assert outcomes["absent"] > 0
    assert outcomes["whole"] > 0 or MODES[mode]["power_loss"]
