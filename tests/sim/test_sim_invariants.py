"""The checker catches each kind of violation it claims to (fed by hand), and stays quiet on
a correct history."""

import pytest

from engine.raft import Entry, HardState, Ready, StateType
from engine.sim.host import Applied, NodeParams, SimNode
from engine.sim.invariants import Checker, InvariantViolated


def cluster(n=3):
    nodes = [None] + [SimNode(i, tuple(range(1, n + 1)), NodeParams(), seed=i)
                      for i in range(1, n + 1)]
    return nodes, Checker(nodes)


def persist(checker, node, entries=(), hs=None):
    rd = Ready(entries=list(entries), hard_state=hs)
    node.persist(rd)
    checker.on_persist(node, rd)


def e(term, index, data=b""):
    return Entry(term, index, data=data)


def make_leader(node, term):
    r = node.rawnode.raft
    r.state, r.term = StateType.LEADER, term


def violated(name):
    return pytest.raises(InvariantViolated, match=f"^{name}:")


def test_two_leaders_in_one_term():
    nodes, c = cluster()
    make_leader(nodes[1], 3)
    c.after_event(nodes[1])
    make_leader(nodes[2], 4)
    c.after_event(nodes[2])
    make_leader(nodes[3], 4)
    with violated("election-safety"):
        c.after_event(nodes[3])


def test_same_index_and_term_with_different_data_breaks_log_matching():
    nodes, c = cluster()
    persist(c, nodes[1], [e(1, 1, b"a")])
    persist(c, nodes[2], [e(1, 1, b"a")])
    with violated("log-matching"):
        persist(c, nodes[3], [e(1, 1, b"b")])


def test_same_entry_after_a_different_predecessor_breaks_log_matching():
    nodes, c = cluster()
    persist(c, nodes[1], [e(1, 1), e(2, 2)])
    with violated("log-matching"):
        persist(c, nodes[2], [e(2, 1), e(2, 2)])


def test_a_committed_entry_must_never_change():
    nodes, c = cluster()
    persist(c, nodes[1], [e(1, 1, b"x")], HardState(1, 1, 1))
    with violated("committed-stable"):
        persist(c, nodes[2], [e(2, 1, b"y")], HardState(2, 2, 1))


def test_durable_commit_and_term_never_go_back_and_one_vote_per_term():
    nodes, c = cluster()
    persist(c, nodes[1], [e(1, 1), e(1, 2)], HardState(1, 2, 2))
    with violated("durable-commit-monotonic"):
        persist(c, nodes[1], hs=HardState(1, 2, 1))
    with violated("one-vote-per-term"):
        persist(c, nodes[1], hs=HardState(1, 3, 2))
    with violated("durable-term-monotonic"):
        persist(c, nodes[1], hs=HardState(0, 0, 2))


def test_a_leader_must_hold_every_entry_committed_before_its_term():
    nodes, c = cluster()
    persist(c, nodes[1], [e(1, 1, b"x")], HardState(1, 1, 1))   # committed at term 1
    nodes[2].rawnode.raft.raft_log.append([e(2, 1, b"other")])
    make_leader(nodes[2], 3)
    with violated("leader-completeness"):
        c.after_event(nodes[2])


def test_a_leader_holding_the_committed_prefix_is_fine():
    nodes, c = cluster()
    persist(c, nodes[1], [e(1, 1, b"x")], HardState(1, 1, 1))
    nodes[2].rawnode.raft.raft_log.append([e(1, 1, b"x")])
    make_leader(nodes[2], 3)
    c.after_event(nodes[2])


def test_in_memory_commit_never_goes_back_within_an_incarnation():
    nodes, c = cluster()
    log = nodes[1].rawnode.raft.raft_log
    log.append([e(1, 1), e(1, 2)])
    log.committed = 2
    c.after_event(nodes[1])
    log.committed = 1
    with violated("commit-monotonic"):
        c.after_event(nodes[1])
    c.on_crash(nodes[1])         # a new incarnation may start lower
    c.after_event(nodes[1])


def test_applied_digests_must_agree_and_move_forward():
    nodes, c = cluster()
    for n in nodes[1:]:
        persist(c, n, [e(1, 1)], HardState(1, 1, 1))
    c.on_apply(1, Applied(1, 1, b"d" * 16))
    with violated("state-machine-safety"):
        c.on_apply(2, Applied(1, 1, b"x" * 16))
    with violated("applied-monotonic"):
        c.on_apply(1, Applied(1, 1, b"d" * 16))


def test_applying_past_the_durable_commit_is_caught():
    nodes, c = cluster()
    persist(c, nodes[1], [e(1, 1)])
    with violated("apply-durable"):
        c.on_apply(1, Applied(1, 1, b"d" * 16))


def test_a_read_below_an_acknowledged_write_is_stale():
    nodes, c = cluster()
    c.on_read(1, b"r1", 7, 7)
    with violated("read-index-linearizable"):
        c.on_read(1, b"r2", 6, 7)
