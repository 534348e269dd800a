"""Crash mode `torn` in the UI simulator: the power fails halfway through a write, every
entry of it but the last reaches the disk, and the restart cuts the torn record off. The
tearing itself is the check simulator's (`SimNode.persist_torn`, `can_tear`)."""

from __future__ import annotations

from engine import observe as o
from engine.observe import CrashMode
from engine.raft import Entry, HardState, MemoryStorage, Ready, Snapshot
from engine.sim.backend import SimBackend
from engine.sim.host import can_tear
from engine.sim.ui_script import command_line, parse_command

TORN = CrashMode.TORN


def leader_writing_two_entries() -> SimBackend:
    """Leader 1 with a slow disk, `put y 1` synced and sent, `put y 2` and `put y 3`
    written together and waiting for their fsync."""
    b = SimBackend(3, seed=4)
    b.execute(o.Tick(40))
    b.client("put x 1")
    b.execute(o.Tick(3))
    b.execute(o.SetDisk(50))
    for value in (1, 2, 3):
        b.client(f"put y {value}")
    for _ in range(100):
        if b.view().node(1).syncing == 2:
            return b
        b.execute(o.Step())
    raise AssertionError("the leader never wrote two entries at once")


def test_a_torn_write_keeps_every_entry_but_the_last_and_the_restart_cuts_it_off():
    b = leader_writing_two_entries()
    last = b.view().node(1).last_index
    note = b.execute(o.Crash(1, TORN))
    assert f"last record (entry {last})" in note
    assert b.view().node(1).last_index == last - 1
    assert all(r.status == "failed" for r in b.view().requests if r.line.startswith("put y"))
    b.execute(o.Tick(30))
    note = b.execute(o.Restart(1))
    assert f"torn record (entry {last}" in note and f"log up to {last - 1}" in note
    assert "torn" not in b.execute(o.Crash(1)) + b.execute(o.Restart(1))
    b.execute(o.Tick(10))
    x = b.client("get x --consistency=s", 1)
    assert x.answer == "x\n1"                 # the acknowledged write survived
    view = b.view()
    assert len({n.last_index for n in view.nodes}) == 1


def test_with_nothing_being_written_the_disk_is_intact():
    b = SimBackend(3, seed=4)
    b.execute(o.Tick(40))
    before = b.view().node(2).last_index
    assert "no write was in progress" in b.execute(o.Crash(2, TORN))
    assert b.view().node(2).last_index == before
    assert "torn record" not in b.execute(o.Restart(2))


def test_a_write_of_one_entry_is_lost_whole():
    b = SimBackend(3, seed=4)
    b.execute(o.Tick(40))
    b.execute(o.SetDisk(50))
    before = b.view().node(1).last_index
    b.client("put k v")
    assert b.view().node(1).syncing == 1
    assert "0 reached the disk whole" in b.execute(o.Crash(1, TORN))
    assert b.view().node(1).last_index == before


def test_only_writes_of_entries_in_the_disks_term_can_tear():
    disk = MemoryStorage()
    disk.set_hard_state(HardState(term=2, vote=1, commit=0))
    entries = [Entry(term=2, index=1), Entry(term=2, index=2)]
    assert can_tear(Ready(entries=entries), disk)
    assert can_tear(Ready(entries=entries, hard_state=HardState(2, 1, 1)), disk)
    assert not can_tear(Ready(entries=entries, hard_state=HardState(3, 1, 0)), disk)
    assert not can_tear(Ready(hard_state=HardState(2, 1, 1)), disk)
    assert not can_tear(Ready(entries=entries, snapshot=Snapshot()), disk)


def test_the_mode_is_recorded_in_scenarios():
    assert command_line(o.Crash(2, TORN)) == "crash 2 torn"
    assert parse_command("crash 2 torn") == o.Crash(2, TORN)
