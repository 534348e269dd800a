"""Crash sweep: kill a scripted DiskStorage workload after every single filesystem call
(write, fsync, rename, unlink, mkdir, ...), in four ways, then reopen and check:

- the recovered log and hard state are exactly those after some prefix of the workload's
  saves (a save possibly cut between its entries), never anything that was not written;
- that prefix includes every save(sync=True) / create_snapshot that returned, and, when only
  the process died (not the machine), every call that returned at all;
- the snapshot served is one that was saved, with identical bytes;
- the reopened store accepts and keeps a new write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from engine.raft.types import ConfState, Entry, HardState, Snapshot, SnapshotMetadata
from engine.runtime.crashfs import Crash, CrashingFileOps
from engine.runtime.disk import DiskStorage

CLUSTER, NODE = 0xC1, 7
CS = ConfState(frozenset({1, 2, 3}), frozenset({4}))
OPTS = dict(segment_size=300, keep_snapshots=2)


@dataclass(frozen=True)
class Save:
    hs: HardState | None
    entries: tuple[Entry, ...]
    sync: bool = True
    snapshot: Snapshot | None = None


@dataclass(frozen=True)
class Snap:
    index: int


def run(term: int, lo: int, hi: int) -> tuple[Entry, ...]:
    return tuple(Entry(term, i, data=f"t{term} put key{i} value{i * 7}".encode())
                 for i in range(lo, hi + 1))


LEADER_SNAP = Snapshot(SnapshotMetadata(40, 3, CS), b"leader state @40")

WORKLOAD = [
    Save(HardState(1, 1, 0), run(1, 1, 3)),
    Save(HardState(1, 1, 2), run(1, 4, 5)),
    Save(None, run(1, 6, 6), sync=False),
    Save(HardState(2, 2, 3), run(2, 5, 7)),          # overwrites 5..6 of term 1
    Save(HardState(2, 2, 5), run(2, 8, 10), sync=False),
    Save(HardState(2, 2, 7), run(2, 11, 11)),
    Snap(5),
    Save(HardState(2, 2, 9), run(2, 12, 14)),
    Save(None, run(2, 15, 16), sync=False),
    Save(HardState(2, 2, 14), run(2, 17, 18)),
    Snap(10),
    Save(HardState(2, 2, 18), run(2, 19, 20)),
    Snap(14),                                         # purges snapshot 5, releases WAL
    Save(HardState(3, 0, 40), run(3, 41, 42), snapshot=LEADER_SNAP),
    Save(HardState(3, 0, 41), ()),
    Save(HardState(3, 0, 42), run(3, 43, 43), sync=False),
    Save(HardState(4, 4, 42), run(4, 43, 44)),        # overwrites 43 of term 3
    Snap(42),
    Save(None, run(4, 45, 46)),
    Save(HardState(4, 4, 44), run(4, 47, 50), sync=False),
    Save(HardState(4, 4, 46), run(4, 51, 52)),
    Snap(46),
    Save(None, run(4, 53, 55)),
    Save(HardState(5, 5, 50), run(5, 54, 56)),        # overwrites 54..55 of term 4
    Save(HardState(5, 5, 53), (), sync=False),
    Snap(52),
    Save(HardState(5, 5, 55), run(5, 57, 58)),
]


# -- the model ----------------------------------------------------------------------------

@dataclass(frozen=True)
class State:
    log: dict[int, Entry]              # every entry the host saw, by index
    hs: HardState
    floor: int                         # a received snapshot replaced everything up to here
    snaps: frozenset[int]              # snapshot indexes saved so far

    @property
    def last(self) -> int:
        return max([self.floor, *self.log])


def apply(state: State, step, n_entries: int | None = None) -> State:
    """The state after `step`, or after only its first `n_entries` entries."""
    if isinstance(step, Snap):
        return State(state.log, state.hs, state.floor, state.snaps | {step.index})
    log, floor, snaps = dict(state.log), state.floor, state.snaps
    if step.snapshot is not None:
        floor = step.snapshot.metadata.index
        log = {}
        snaps |= {floor}
    ents = step.entries if n_entries is None else step.entries[:n_entries]
    for e in ents:
        for i in [i for i in log if i >= e.index]:
            del log[i]
        log[e.index] = e
    hs = step.hs if (n_entries is None and step.hs is not None) else state.hs
    return State(log, hs, floor, snaps)


def states_after(n_steps: int) -> list[State]:
    s = State({}, HardState(), 0, frozenset())
    out = [s]
    for step in WORKLOAD[:n_steps]:
        s = apply(s, step)
        out.append(s)
    return out


SNAP_DATA = {i: f"app state @{i}".encode() for i in range(100)}


def expected_snapshot(index: int) -> Snapshot:
    if index == LEADER_SNAP.metadata.index:
        return LEADER_SNAP
    full = states_after(len(WORKLOAD))
    term = next(s.log[index].term for s in full if index in s.log and index in s.snaps)
    return Snapshot(SnapshotMetadata(index, term, CS), SNAP_DATA[index])


# -- running and crashing -----------------------------------------------------------------

@dataclass
class Outcome:
    returned: int = 0          # steps whose call returned
    durable: int = 0           # steps made durable by a returned sync/snapshot call
    crashed: bool = False
    ops: int = 0
    trace: list[str] = field(default_factory=list)


def execute(path: str, fs: CrashingFileOps) -> Outcome:
    out = Outcome()
    try:
        store = DiskStorage.open(path, CLUSTER, NODE, fs=fs, **OPTS)
        for n, step in enumerate(WORKLOAD, 1):
            if isinstance(step, Snap):
                store.create_snapshot(step.index, CS, SNAP_DATA[step.index])
            else:
                store.save(step.hs, list(step.entries), snapshot=step.snapshot,
                           sync=step.sync)
            out.returned = n
            if isinstance(step, Snap) or step.sync:
                out.durable = n
        store.close()
    except Crash:
        out.crashed = True
    out.ops, out.trace = fs.ops, fs.trace
    return out


def candidates(lo: int, returned: int) -> list[State]:
    """Every state a crash may leave: after each of steps lo..returned+1 (the one in flight
    may have reached the disk whole), or part way through the entries of any of them."""
    states = states_after(len(WORKLOAD))
    hi = min(returned + 1, len(WORKLOAD))
    found = states[lo:hi + 1]
    for k in range(lo, hi):
        # A snapshot install cut short is dropped whole on reopen: no partial states.
        if isinstance(WORKLOAD[k], Save) and WORKLOAD[k].snapshot is None:
            found += [apply(states[k], WORKLOAD[k], j)
                      for j in range(len(WORKLOAD[k].entries))]
    return found


def recovered_matches(store: DiskStorage, state: State) -> bool:
    r = store.snapshot().metadata.index
    if store.hard_state != state.hs or store.last_index() != state.last:
        return False
    if r and r not in state.snaps:
        return False
    want = [state.log.get(i) for i in range(r + 1, state.last + 1)]
    return store.entries(r + 1, state.last + 1) == want


def check_recovery(path: str, out: Outcome, power_loss: bool) -> None:
    where = f"crash after {out.ops - 1} calls, at: {out.trace[-1] if out.trace else '-'}"
    store = DiskStorage.open(path, CLUSTER, NODE, **OPTS)
    lo = out.durable if power_loss else out.returned
    assert any(recovered_matches(store, s) for s in candidates(lo, out.returned)), (
        f"{where}: recovered last={store.last_index()} hs={store.hard_state}"
        f" snap={store.snapshot().metadata.index} matches no state after steps"
        f" {lo}..{out.returned + 1}")
    r = store.snapshot().metadata.index
    if r:
        assert store.snapshot() == expected_snapshot(r), where
        assert r <= store.hard_state.commit, where
    # The repaired store keeps new writes.
    extra = Entry(9, store.last_index() + 1, data=b"after the crash")
    store.save(HardState(9, 0, store.hard_state.commit), [extra])
    store.close()
    again = DiskStorage.open(path, CLUSTER, NODE, **OPTS)
    assert again.entries(extra.index, extra.index + 1) == [extra], where
    again.close()


def total_calls() -> int:
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        out = execute(f"{d}/n", CrashingFileOps())
    assert not out.crashed and out.returned == len(WORKLOAD)
    return out.ops


MODES = {
    "process-kill": dict(tear=0.0, power_loss=False),
    "process-kill-torn-write": dict(tear=0.5, power_loss=False),
    "power-loss": dict(tear=0.0, power_loss=True),
    "power-loss-torn": dict(tear=0.6, power_loss=True),
}


def test_workload_is_big_enough():
    assert total_calls() >= 150


@pytest.mark.slow
@pytest.mark.parametrize("mode", sorted(MODES))
def test_crash_sweep(tmp_path, mode):
    calls = total_calls()
    for n in range(calls + 1):
        fs = CrashingFileOps(crash_after=n, **MODES[mode])
        path = str(tmp_path / f"crash{n}")
        out = execute(path, fs)
        assert out.crashed == (n < calls)
        check_recovery(path, out, MODES[mode]["power_loss"])
