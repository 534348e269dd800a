"""The simulator's world: determinism, the Ready loop around the disk, healing, liveness."""

import pytest

from engine.raft import MessageType
from engine.sim.params import TICK, derive_params
from engine.sim.world import World, run_world


def quiet(seed=1, nodes=3, **overrides):
    """A run without faults (the workload still runs)."""
    fields = dict(fault_weights=(), drop_rate=0.0, dup_rate=0.0, fault_ticks=60)
    fields.update(overrides)
    return derive_params(seed, nodes, **fields)


def test_same_seed_gives_a_byte_identical_trace():
    a = run_world(derive_params(11, 3), text_trace=True)
    b = run_world(derive_params(11, 3), text_trace=True)
    assert a.text == b.text
    assert "\n".join(a.text).encode() == "\n".join(b.text).encode()
    assert a.trace == b.trace and a.events == b.events
    assert len(a.text) > 1000


def test_text_trace_does_not_change_the_run():
    assert run_world(derive_params(12, 5)).trace == run_world(derive_params(12, 5), True).trace


def test_different_seeds_give_different_traces():
    traces = {run_world(derive_params(seed, 3)).trace for seed in range(1, 6)}
    assert len(traces) == 5


def test_a_quiet_cluster_elects_commits_and_recovers_fast():
    result = run_world(quiet(clients=3))
    assert result.violation is None
    assert result.writes > 20
    assert result.recovery_ticks is not None and result.recovery_ticks < 10


@pytest.mark.parametrize("nodes", [1, 2, 3, 5, 7, 9])
def test_every_cluster_size_runs_clean(nodes):
    result = run_world(derive_params(3, nodes))
    assert result.violation is None, result.violation
    assert result.recovery_ticks is not None


def test_messages_leave_only_after_their_ready_is_durable(monkeypatch):
    """Every append carries entries already on the sender's disk; every granted vote is
    already on the voter's disk."""
    seen = {"app": 0, "vote": 0}
    world = World(derive_params(5, 3))
    send = world._send

    def checked_send(node, msgs):
        for m in msgs:
            if m.type is MessageType.APP and m.entries:
                last = m.entries[-1]
                if last.index >= node.disk.first_index():
                    assert node.disk.term(last.index) == last.term
                    seen["app"] += 1
            if m.type is MessageType.VOTE_RESP and not m.reject:
                hs = node.disk.hard_state
                assert (hs.term, hs.vote) == (m.term, m.to)
                seen["vote"] += 1
        send(node, msgs)

    monkeypatch.setattr(world, "_send", checked_send)
    assert world.run().violation is None
    assert seen["app"] > 10 and seen["vote"] > 0


def test_a_crash_loses_the_ready_that_was_not_yet_durable():
    world = World(quiet(disk_lo=3 * TICK, disk_span=1))   # every sync takes three ticks
    victim = None
    while victim is None:
        world.run(until=world.now + 10)
        victim = next((n for n in world.nodes[1:] if _appends_new_entries(world, n)), None)
    first_unsynced = world.inflight[victim.id].entries[0].index
    world.crash(victim.id)
    world.restart(victim.id)
    assert victim.disk.last_index() < first_unsynced
    assert victim.rawnode.raft.raft_log.last_index() < first_unsynced
    assert world.run().violation is None


def _appends_new_entries(world, node):
    rd = world.inflight[node.id]
    return rd is not None and rd.entries and rd.entries[0].index > node.disk.last_index()


def test_healing_ends_every_fault_and_restarts_every_node():
    world = World(derive_params(8, 5, fault_ticks=100))
    world.run(until=100 * TICK - 1)
    world.run(until=100 * TICK)
    assert world.heal_time == 100 * TICK
    assert all(n.up for n in world.nodes[1:])
    assert not world.network.cuts and not world.network.delays
    assert world.network.drop == 0.0 and set(world.disk_extra) == {0}


def test_a_cluster_that_cannot_recover_in_time_is_a_liveness_violation():
    # One tick is too short for anyone to win an election: the check must say so.
    result = run_world(derive_params(2, 3, liveness_ticks=1))
    assert result.violation is not None
    assert result.violation.invariant == "liveness"
    assert "probe writes committed within 1 ticks" in result.violation.detail


def test_faults_of_every_kind_take_effect_over_a_few_seeds():
    performed, snapshots = {}, 0
    for seed in range(1, 25):
        world = World(derive_params(seed, 5))
        assert world.run().violation is None
        for kind, count in world.nemesis.performed.items():
            performed[kind] = performed.get(kind, 0) + count
        snapshots += world.snapshots_sent
    from engine.sim.params import FAULT_KINDS
    assert set(performed) == set(FAULT_KINDS)
    assert snapshots > 0, "InstallSnapshot was never exercised"


def test_membership_changes_commit():
    conf_changes = 0
    for seed in range(1, 30):
        params = derive_params(seed, 5)
        if "membership" not in dict(params.fault_weights):
            continue
        world = World(params)
        assert world.run().violation is None
        conf_changes += sum(1 for body in world.checker.c_body
                            if body is not None and body[0].value == "ConfChange")
    assert conf_changes >= 5


def test_reads_and_writes_are_acknowledged():
    results = [run_world(derive_params(seed, 3)) for seed in range(1, 8)]
    assert sum(r.writes for r in results) > 100
    assert sum(r.reads for r in results) > 20
