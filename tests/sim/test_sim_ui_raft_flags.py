"""PreVote and CheckQuorum in the UI simulator: a cluster can start without them, and
`SetRaftFlags` changes them for each node's next start, as etcd reads its flags at boot."""

from __future__ import annotations

import pytest

from engine import observe as o
from engine.observe import CommandRefused
from engine.sim.backend import SimBackend
from engine.sim.ui_script import command_line, dump, load, parse_command

CUT_1_3 = o.Partition(((1, 3), (3, 1)))


def partial_partition(**flags) -> SimBackend:
    """Seed 4 (leader 1), then the link between nodes 1 and 3 cut for 40 ticks."""
    b = SimBackend(3, seed=4, **flags)
    b.execute(o.Tick(15))
    assert b.view().leader().id == 1
    b.execute(CUT_1_3)
    b.execute(o.Tick(40))
    return b


def test_without_prevote_and_checkquorum_a_partial_partition_elects_a_second_leader():
    b = partial_partition(pre_vote=False, check_quorum=False)
    view = b.view()
    assert not any(n.pre_vote or n.check_quorum for n in view.nodes)
    assert view.leader().id == 3 and view.node(3).term == 2
    assert view.node(1).role == "leader" and view.node(1).term == 1    # stale, unaware
    b.execute(o.Heal())
    b.execute(o.Tick(5))
    assert [(n.role, n.term) for n in b.view().nodes] == \
        [("follower", 2), ("follower", 2), ("leader", 2)]


def test_with_both_the_same_partition_changes_nothing():
    b = partial_partition()
    view = b.view()
    assert all(n.pre_vote and n.check_quorum for n in view.nodes)
    assert view.leader().id == 1 and {n.term for n in view.nodes} == {1}
    assert view.node(3).role == "pre-candidate"


def test_new_flags_take_effect_when_a_node_next_starts():
    b = SimBackend(3, seed=4, pre_vote=False, check_quorum=False)
    b.execute(o.Tick(15))
    note = b.execute(o.SetRaftFlags(pre_vote=True))
    assert "PreVote on, CheckQuorum off" in note and "restart" in note
    assert not b.view().node(2).pre_vote
    b.execute(o.Crash(2))
    assert not b.view().node(2).pre_vote          # a node that is down keeps its last start's
    b.execute(o.Restart(2))
    node = b.view().node(2)
    assert node.pre_vote and not node.check_quorum
    assert "asking for pre-votes first" in b.execute(o.Campaign(2))
    assert "raising its term at once" in b.execute(o.Campaign(3))
    with pytest.raises(CommandRefused, match="which option"):
        b.execute(o.SetRaftFlags())


def test_flags_are_part_of_the_scenario(tmp_path):
    b = SimBackend(3, seed=4, pre_vote=False, check_quorum=False)
    b.execute(o.Tick(15))
    b.execute(o.SetRaftFlags(pre_vote=True, check_quorum=True))
    b.execute(o.Crash(3))
    b.execute(o.Restart(3))
    text = dump(b.scenario())
    assert "pre-vote off\ncheck-quorum off\n" in text
    assert "flags pre-vote on check-quorum on\n" in text
    assert load(text) == b.scenario()
    b.save(tmp_path / "flags.scenario")
    assert SimBackend.load(tmp_path / "flags.scenario").view() == b.view()


@pytest.mark.parametrize("command, line", [
    (o.SetRaftFlags(pre_vote=False), "flags pre-vote off"),
    (o.SetRaftFlags(check_quorum=True), "flags check-quorum on"),
    (o.SetRaftFlags(True, False), "flags pre-vote on check-quorum off"),
])
def test_flag_lines(command, line):
    assert command_line(command) == line and parse_command(line) == command


@pytest.mark.parametrize("line", ["flags", "flags pre-vote", "flags pre-vote maybe",
                                  "flags fast on"])
def test_bad_flag_lines(line):
    with pytest.raises(ValueError):
        parse_command(line)
