"""Unit tests of the Raft core's parts: storage, log, progress, config, RawNode guards."""

import random

import pytest

from engine.raft import (
    Compacted, Config, ConfChange, ConfChangeType, ConfState, Entry, HardState,
    MemoryStorage, Message, MessageType, ProposalDropped, RawNode, Unavailable,
)
from engine.raft.log import RaftLog
from engine.raft.progress import Inflights, Progress, ProgressTracker
from engine.raft.storage import limit_size


def ents(*terms, start=1):
    return [Entry(term=t, index=start + i) for i, t in enumerate(terms)]


def test_memory_storage_append_truncates_conflicting_suffix():
    s = MemoryStorage()
    s.append(ents(1, 1, 1))
    s.append([Entry(term=2, index=2)])
    assert s.last_index() == 2
    assert [s.term(i) for i in (1, 2)] == [1, 2]


def test_memory_storage_compact_and_bounds():
    s = MemoryStorage()
    s.append(ents(1, 1, 2, 2))
    s.compact(2)
    assert s.first_index() == 3
    with pytest.raises(Compacted):
        s.entries(2, 4)
    with pytest.raises(Unavailable):
        s.entries(3, 6)
    assert s.term(2) == 1          # the dummy entry keeps the compacted term
    with pytest.raises(Compacted):
        s.compact(2)


def test_create_snapshot_refuses_stale_and_future():
    s = MemoryStorage()
    s.append(ents(1, 1, 1))
    s.create_snapshot(2, ConfState(frozenset({1})), b"x")
    with pytest.raises(Exception):
        s.create_snapshot(1, ConfState(), b"")
    with pytest.raises(Unavailable):
        s.create_snapshot(9, ConfState(), b"")


def test_limit_size_keeps_at_least_one_entry():
    big = [Entry(term=1, index=i, data=b"x" * 100) for i in (1, 2, 3)]
    assert len(limit_size(big, 10)) == 1
    assert len(limit_size(big, 250)) == 2
    assert len(limit_size(big, None)) == 3


def test_raft_log_find_conflict_by_term_skips_whole_terms():
    s = MemoryStorage()
    s.append(ents(1, 1, 2, 2, 2, 4, 4))
    log = RaftLog(s)
    assert log.find_conflict_by_term(7, 3) == 5   # last entry with term <= 3
    assert log.find_conflict_by_term(7, 1) == 2
    assert log.find_conflict_by_term(7, 4) == 7


def test_raft_log_maybe_append_rejects_on_mismatch_and_truncates_conflict():
    s = MemoryStorage()
    s.append(ents(1, 1, 1))
    log = RaftLog(s)
    assert log.maybe_append(3, 2, 0, ()) is None              # term mismatch at 3
    assert log.maybe_append(2, 1, 2, (Entry(3, 3),)) == 3
    assert log.term(3) == 3 and log.committed == 2
    with pytest.raises(AssertionError):
        log.maybe_append(1, 1, 2, (Entry(5, 2),))              # would rewrite commit


def test_is_up_to_date_compares_term_then_index():
    s = MemoryStorage()
    s.append(ents(1, 2))
    log = RaftLog(s)
    assert log.is_up_to_date(1, 3)
    assert log.is_up_to_date(2, 2)
    assert not log.is_up_to_date(1, 2)
    assert not log.is_up_to_date(9, 1)


def test_inflights_window():
    w = Inflights(2)
    w.add(3)
    w.add(5)
    assert w.full()
    w.free_le(4)
    assert w.buffer == [5] and not w.full()
    w.free_first_one()
    assert w.buffer == []


def test_progress_rejection_in_probe_uses_hint():
    pr = Progress(match=0, next=10)
    assert not pr.maybe_decr_to(5, 3)          # stale: we did not send index 5
    assert pr.maybe_decr_to(9, 3)
    assert pr.next == 4


def test_progress_rejection_in_replicate_falls_back_to_match():
    pr = Progress(match=4, next=9)
    pr.become_replicate()
    pr.next = 9
    assert not pr.maybe_decr_to(3, 0)          # at or below match: stale
    assert pr.maybe_decr_to(8, 0)
    assert pr.next == 5


def test_tracker_quorum_commit_and_votes():
    t = ProgressTracker(8)
    t.apply_conf(ConfState(frozenset({1, 2, 3, 4, 5}), frozenset({6})), 1)
    for node_id, match in {1: 9, 2: 7, 3: 5, 4: 2, 5: 1, 6: 100}.items():
        t.progress[node_id].match = match
    assert t.committed() == 5                   # the learner's match does not count
    t.record_vote(1, True)
    t.record_vote(2, False)
    t.record_vote(3, False)
    assert t.tally_votes()[2] == "pending"
    t.record_vote(4, False)
    assert t.tally_votes()[2] == "lost"


def test_conf_state_single_steps():
    cs = ConfState(frozenset({1, 2}))
    cs = cs.apply(ConfChange(ConfChangeType.ADD_LEARNER, 3))
    assert cs.learners == {3}
    cs = cs.apply(ConfChange(ConfChangeType.ADD_NODE, 3))
    assert cs.voters == {1, 2, 3} and not cs.learners
    cs = cs.apply(ConfChange(ConfChangeType.REMOVE_NODE, 1))
    assert cs.voters == {2, 3}


def test_conf_change_round_trips():
    cc = ConfChange(ConfChangeType.ADD_LEARNER, 42, b"peer url")
    assert ConfChange.decode(cc.encode()) == cc


def node(node_id=1, peers=(1, 2, 3), **kw):
    return RawNode(Config(id=node_id, storage=MemoryStorage(), rng=random.Random(node_id),
                          peers=peers, **kw))


@pytest.mark.parametrize("kw, message", [
    ({"id": 0}, "node id"),
    ({"election_tick": 1}, "election tick"),
    ({"heartbeat_tick": 0}, "heartbeat tick"),
    ({"max_inflight_msgs": 0}, "inflight"),
])
def test_config_validation(kw, message):
    args = {"id": 1, "storage": MemoryStorage(), "rng": random.Random(1), **kw}
    with pytest.raises(ValueError, match=message):
        RawNode(Config(**args))


def test_rawnode_refuses_local_messages_from_network():
    n = node()
    with pytest.raises(ValueError, match="MsgHup"):
        n.step(Message(MessageType.HUP, frm=2, to=1))


def test_proposal_without_leader_is_dropped():
    with pytest.raises(ProposalDropped):
        node().propose(b"x")


def test_single_node_commits_alone():
    storage = MemoryStorage()
    n = RawNode(Config(id=1, storage=storage, rng=random.Random(1), peers=(1,)))
    n.campaign()
    rd = n.ready()
    assert rd.soft_state.lead == 1 and rd.must_sync
    assert [e.data for e in rd.committed_entries] == [b""]
    storage.append(rd.entries)
    n.advance(rd)
    n.propose(b"x")
    rd = n.ready()
    assert [e.data for e in rd.committed_entries] == [b"x"]
    storage.append(rd.entries)
    n.advance(rd)
    assert not n.has_ready()


def test_restart_restores_hard_state():
    s = MemoryStorage()
    s.append(ents(1, 2))
    s.set_hard_state(HardState(term=2, vote=3, commit=2))
    n = RawNode(Config(id=1, storage=s, rng=random.Random(1), peers=(1, 2, 3)))
    st = n.status()
    assert st.hard_state == HardState(2, 3, 2)
    assert [e.index for e in n.ready().committed_entries] == [1, 2]


def test_restart_with_commit_past_log_is_refused():
    s = MemoryStorage()
    s.set_hard_state(HardState(term=1, vote=0, commit=5))
    with pytest.raises(ValueError, match="out of range"):
        RawNode(Config(id=1, storage=s, rng=random.Random(1), peers=(1,)))
