"""Crashes of the backend's own writes, which SQLite makes itself (not through FileOps).

Two models, both deterministic:

1. Disk images. A run commits the seeded workload in batches with frequent checkpoints;
   after every commit the db file and its -wal file are copied. A crash during commit i
   is rebuilt from those copies: the db as it was (SQLite writes the db file only when it
   checkpoints) and a WAL whose first `cut` bytes are the new ones and the rest the old
   ones, for cuts at every frame boundary, inside frames and inside the header. A process
   kill leaves all bytes written before the cut (base: the previous commit's WAL); a power
   loss under synchronous=NORMAL can lose everything since the last checkpoint synced the
   WAL (base: that checkpoint's WAL; swept at every third commit). A crash inside a
   checkpoint is the whole WAL plus a db file whose pages are a seeded mix of before and
   after. Each image must open and load a state that is exactly the one committed at its
   consistent_index, from the allowed range, never going back as the cut grows; and a
   host replaying the log from there must reach the final state. Not modelled: a disk
   that reorders writes inside one unsynced region; SQLite's WAL frame checksums turn such
   a hole into a shorter prefix.
2. Real process deaths. A child process runs the host loop on one db and SIGKILLs itself
   at a chosen commit, before or after its COMMIT; the next child resumes on the same
   file. Every commit that returned survives, the in-flight one never shows, and
   consistent_index only grows.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest

from engine.kv import KVStore
from engine.runtime.backend import Backend
from tests.runtime.test_backend import (
    ENTRIES, apply_entry, loaded_state, members_at, reference, run_host,
)

BATCH = 10
SEED = 99
FRAME = 24 + 4096        # WAL frame header + one page
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass(frozen=True)
class Image:
    ci: int
    db: bytes
    wal: bytes


def capture_images(path: str) -> list[Image]:
    """The files after opening, then after every commit of the workload."""
    backend = Backend.open(path)
    backend._db.execute("PRAGMA wal_autocheckpoint = 12")   # many checkpoints, small run
    images = [_image(path, 0)]
    kv = KVStore()
    for start in range(0, len(ENTRIES), BATCH):
        for index, request in ENTRIES[start:start + BATCH]:
            apply_entry(kv, index, request)
        backend.commit(kv, members_at(kv.consistent_index))
        images.append(_image(path, kv.consistent_index))
    backend.close()
    return images


def _image(path: str, ci: int) -> Image:
    with open(path, "rb") as db, open(path + "-wal", "rb") as wal:
        return Image(ci, db.read(), wal.read())


STATES = {0: None, **reference(ENTRIES, BATCH)}


def open_image(path: str, db: bytes, wal: bytes) -> int:
    """Write a crash image, open and load it, check the state; return its index."""
    for suffix in ("-shm", "-wal"):
        if os.path.exists(path + suffix):
            os.unlink(path + suffix)
    with open(path, "wb") as f:
        f.write(db)
    with open(path + "-wal", "wb") as f:
        f.write(wal)
    state = loaded_state(path)
    ci = 0 if state is None else int.from_bytes(state[0][10:18], "big")
    assert ci in STATES and state == STATES[ci], f"index {ci}: state differs"
    return ci


def cuts(new: bytes, old: bytes, rng: random.Random) -> list[int]:
    """Where to cut: inside the header if it changed, then every frame boundary from the
    first changed byte on, and one seeded offset inside each of those frames."""
    first = next((n for n, (a, b) in enumerate(zip(new, old)) if a != b),
                 min(len(new), len(old)))
    points = [0, 7, 19, 31] if first < 32 else []
    start = 32 + max(0, (first - 32) // FRAME) * FRAME
    for boundary in range(start, len(new) + 1, FRAME):
        points.append(boundary)
        if boundary + FRAME <= len(new):
            points.append(boundary + rng.randrange(1, FRAME))
    return sorted(set(points))


def last_checkpoint(images: list[Image], i: int) -> int:
    """The newest image before i whose commit wrote the db file (and synced the WAL)."""
    for k in range(i - 1, 0, -1):
        if images[k].db != images[k - 1].db:
            return k
    return 0


def sweep_commit(path: str, images: list[Image], i: int, base: int,
                 rng: random.Random) -> int:
    """Crash images of commit i over the WAL of image `base`; returns how many."""
    new, old, db = images[i].wal, images[base].wal, images[i - 1].db
    allowed = {images[k].ci for k in range(base, i + 1)}
    seen = 0
    points = cuts(new, old, rng)
    for cut in points:
        ci = open_image(path, db, new[:cut] + old[cut:])
        assert ci in allowed, f"commit {i}, cut {cut}: index {ci} not in {sorted(allowed)}"
        assert ci >= seen, f"commit {i}, cut {cut}: index went back from {seen} to {ci}"
        seen = ci
    return len(points)


def torn_checkpoints(path: str, images: list[Image], i: int, rng: random.Random) -> int:
    """A crash inside commit i's checkpoint: the full WAL, a db of mixed pages."""
    before, after = images[i - 1].db, images[i].db
    pages = max(len(before), len(after)) // 4096
    for _ in range(6):
        size = rng.choice((len(before), len(after)))
        mixed = b"".join((after if rng.random() < 0.5 else before)[p * 4096:(p + 1) * 4096]
                         .ljust(4096, b"\0") for p in range(pages))[:size]
        assert open_image(path, mixed, images[i].wal) == images[i].ci, f"commit {i}"
    return 6


@pytest.mark.slow
def test_crash_images_of_every_commit(tmp_path):
    images = capture_images(str(tmp_path / "run.db"))
    path, rng, points = str(tmp_path / "crash.db"), random.Random(SEED), 0
    checkpoints = 0
    for i in range(1, len(images)):
        points += sweep_commit(path, images, i, i - 1, rng)          # process kill
        ckpt = last_checkpoint(images, i)
        if ckpt < i - 1 and i % 3 == 0:
            points += sweep_commit(path, images, i, ckpt, rng)       # power loss
        if images[i].db != images[i - 1].db:
            checkpoints += 1
            points += torn_checkpoints(path, images, i, rng)
    assert checkpoints >= 5 and points >= 400, (checkpoints, points)


def test_host_recovers_from_crash_images(tmp_path):
    """From a sample of crash images, replaying the log reaches the uncrashed end."""
    images = capture_images(str(tmp_path / "run.db"))
    path, rng = str(tmp_path / "crash.db"), random.Random(SEED + 1)
    final = STATES[len(ENTRIES)]
    for i in range(1, len(images), 7):
        cut = rng.randrange(len(images[i].wal) + 1)
        open_image(path, images[i - 1].db, images[i].wal[:cut] + images[i - 1].wal[cut:])
        run_host(path, ENTRIES, batch=BATCH)
        assert loaded_state(path) == final, f"commit {i}, cut {cut}"


# --- real process deaths --------------------------------------------------------------------

CHILD = """
import os, signal, sys
sys.path.insert(0, {root!r})
import pytest

from engine.kv import KVStore
from engine.runtime.backend import Backend
from tests.runtime.test_backend import ENTRIES, apply_entry, members_at

path, commits, phase, batch = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])

class DieOnCommit:
    # The connection, except that the process dies when the transaction would commit.
    def __init__(self, db):
        self._db = db
    def execute(self, sql, *args):
        if sql == "COMMIT":
            os.kill(os.getpid(), signal.SIGKILL)
        return self._db.execute(sql, *args)
    def __getattr__(self, name):
        return getattr(self._db, name)

backend = Backend.open(path)
kv, _ = backend.load()
kv = kv or KVStore()
print("loaded", kv.consistent_index, flush=True)
done = 0
for start in range(0, len(ENTRIES), batch):
    if ENTRIES[start + batch - 1][0] <= kv.consistent_index:
        continue
    for index, request in ENTRIES[start:start + batch]:
        apply_entry(kv, index, request)
    if done == commits and phase == "before":
        backend._db = DieOnCommit(backend._db)
    backend.commit(kv, members_at(kv.consistent_index))
    print("committed", kv.consistent_index, flush=True)
    done += 1
    if done == commits and phase == "after":
        os.kill(os.getpid(), signal.SIGKILL)
backend.close()
"""

PLAN = [(0, "before"), (1, "after"), (3, "before"), (2, "after"), (4, "before"),
        (1, "before"), (5, "after"), (2, "before"), (3, "after"), (1, "after"),
        (4, "before"), (2, "before")]


def run_child(path: str, commits: int, phase: str) -> tuple[int, list[str]]:
    script = CHILD.format(root=ROOT)
    proc = subprocess.run([sys.executable, "-c", script, path, str(commits), phase,
                           str(BATCH)], capture_output=True, text=True, timeout=120)
    assert not proc.stderr, proc.stderr
    return proc.returncode, proc.stdout.split("\n")


@pytest.mark.slow
def test_killed_processes_keep_every_returned_commit(tmp_path):
    path, previous = str(tmp_path / "db"), 0
    for step, (commits, phase) in enumerate(PLAN):
        code, lines = run_child(path, commits, phase)
        assert code == -signal.SIGKILL, (step, code, lines)
        returned = [int(line.split()[1]) for line in lines if line.startswith("committed")]
        expected = returned[-1] if returned else int(lines[0].split()[1])
        state = loaded_state(path)
        ci = 0 if state is None else int.from_bytes(state[0][10:18], "big")
        assert ci == expected and ci >= previous, (step, ci, expected, previous)
        assert state == STATES.get(ci), f"step {step}: state at {ci} differs"
        previous = ci
    assert previous < len(ENTRIES)
    code, lines = run_child(path, -1, "never")
    assert code == 0, lines
    assert loaded_state(path) == STATES[len(ENTRIES)]
