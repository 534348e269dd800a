"""The lesson format's words for PreVote and CheckQuorum: options on the cluster line,
and `set` to change them (each node takes them at its next start)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import observe as o
from raftviz.lesson_actions import ActionError, parse_action
from raftviz.lesson_format import parse_lesson
from raftviz.lesson_player import make_backend

from .helpers import commands

HEAD = "# T\nminutes: 5\ncluster: {}\n\n## One\nText.\n"


def header(cluster: str):
    return parse_lesson(HEAD.format(cluster), Path("t.lesson"))


def test_the_cluster_line_switches_prevote_and_checkquorum():
    lesson, problems = header("3 nodes, seed 4, pre-vote off, checkquorum off")
    assert problems == [] and (lesson.pre_vote, lesson.check_quorum) == (False, False)
    nodes = make_backend(lesson).view().nodes
    assert not any(n.pre_vote or n.check_quorum for n in nodes)
    lesson, _ = header("3 nodes, prevote on")
    assert (lesson.pre_vote, lesson.check_quorum) == (True, True)
    _, problems = header("3 nodes, pre-vote maybe")
    assert [p.message for p in problems] == [
        "cluster: cannot read 'pre-vote maybe'; write e.g. cluster: 3 nodes, seed 4, "
        "pre-vote off"]




@pytest.mark.parametrize("text, command", [
    ("set pre-vote off", o.SetRaftFlags(pre_vote=False)),
    ("set check-quorum on", o.SetRaftFlags(check_quorum=True)),
    ("set pre-vote on, check-quorum on", o.SetRaftFlags(True, True)),
    ("set prevote off and checkquorum off", o.SetRaftFlags(False, False)),
])
def test_set_becomes_a_command(text, command):
    assert commands(text) == [command]


@pytest.mark.parametrize("text", ["set pre-vote", "set speed on", "set pre-vote sometimes",
                                  "set"])
def test_set_errors(text):
    with pytest.raises(ActionError, match="write e.g. set pre-vote off"):
        parse_action(text)
