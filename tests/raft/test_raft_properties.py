"""Hypothesis: random schedules of ticks, proposals, deliveries, cuts and crashes on the
stepper never break Raft's safety properties."""

from hypothesis import HealthCheck, given, settings, strategies as st, target

from engine.raft import StateType
from engine.sim.stepper import Stepper

NODES = (1, 2, 3)

op = st.one_of(
    st.tuples(st.just("tick"), st.sampled_from(NODES), st.integers(1, 12)),
    st.tuples(st.just("propose"), st.sampled_from(NODES), st.integers(0, 999)),
    st.tuples(st.just("process-ready"), st.sampled_from(NODES)),
    st.tuples(st.just("deliver-msgs"), st.sampled_from(NODES)),
    st.tuples(st.just("round")),
    st.tuples(st.just("round")),
    st.tuples(st.just("stabilize")),
    st.tuples(st.just("tick-election"), st.sampled_from(NODES)),
    st.tuples(st.just("tick-election"), st.sampled_from(NODES)),
    st.tuples(st.just("transfer-leader"), st.sampled_from(NODES), st.sampled_from(NODES)),
    st.tuples(st.just("cut"), st.sampled_from(["1-2", "2-3", "1-3", "1>2", "3>1"])),
    st.tuples(st.just("heal")),
    st.tuples(st.just("crash"), st.sampled_from(NODES)),
    st.tuples(st.just("restart"), st.sampled_from(NODES)),
    st.tuples(st.just("snapshot"), st.sampled_from(NODES)),
)


def committed_entries(n):
    log = n.rawnode.raft.raft_log
    lo = log.first_index()
    return {e.index: e for e in log.slice(lo, log.committed + 1)} if log.committed >= lo else {}


def check_safety(s: Stepper, leaders: dict, committed: dict) -> None:
    """`committed` maps index -> (entry, term of the node that first saw it committed):
    the entry was committed in that term or earlier, so every leader of a later term must
    hold it (leader completeness). A stale leader of an older term need not."""
    for n in s.nodes.values():
        if not n.up:
            continue
        r = n.rawnode.raft
        if r.state is StateType.LEADER:
            assert leaders.setdefault(r.term, r.id) == r.id, f"two leaders in term {r.term}"
            log = r.raft_log
            for index, (e, seen_in) in committed.items():
                if r.term > seen_in and index >= log.first_index():
                    assert log.term_or_zero(index) == e.term, \
                        f"leader {r.id} of term {r.term} lacks committed entry {index}"
        for index, e in committed_entries(n).items():
            known, _ = committed.setdefault(index, (e, r.term))
            assert known == e, f"committed entry {index} changed on node {n.id}"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=20, max_size=200))
def test_random_schedules_are_safe(ops):
    s = Stepper()
    s.run("add-nodes 3 catchup-entries=2")
    leaders: dict[int, int] = {}
    committed: dict = {}
    for o in ops:
        name, *args = o
        if name in ("restart",) and s.nodes[args[0]].up:
            continue
        if name == "crash" and not s.nodes[args[0]].up:
            continue
        if name in ("tick", "propose", "snapshot") and not s.nodes[args[0]].up:
            continue
        if name in ("tick-election", "transfer-leader") and not s.nodes[args[0]].up:
            continue
        if name == "propose":
            args[1] = f"v{args[1]}"
        if name == "round":
            s.run("process-ready")
            s.run("deliver-msgs")
        else:
            s.run(" ".join(str(a) for a in [name, *args]))
        check_safety(s, leaders, committed)
    target(float(len(committed)))   # steer towards schedules that commit a lot


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000))
def test_healed_cluster_elects_and_commits(seed):
    """Liveness on the stepper: with every message delivered, a leader emerges and a
    proposal commits on all nodes within a bounded number of rounds."""
    s = Stepper()
    s.run("add-nodes 3")
    for n in s.nodes.values():
        n.rawnode.raft.randomized_election_timeout = 10 + seed % 7 + n.id
    for _ in range(40):
        for node_id in NODES:
            s.run(f"tick {node_id}")
        s.run("stabilize")
        if any(n.rawnode.raft.state is StateType.LEADER for n in s.nodes.values()):
            break
    leader = next(n for n in s.nodes.values() if n.rawnode.raft.state is StateType.LEADER)
    s.run(f"propose {leader.id} x")
    s.run("stabilize")
    assert all(n.rawnode.raft.raft_log.committed == leader.rawnode.raft.raft_log.committed
               for n in s.nodes.values())
