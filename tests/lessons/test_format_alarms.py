"""The lesson format's words for the NOSPACE alarm: `alarm list` and `alarm disarm`
requests, `alarm NOSPACE is raised` conditions and the `alarms` count."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import observe as o
from raftviz.lesson_actions import ActionError, parse_action
from raftviz.lesson_conditions import ConditionError
from raftviz.lesson_expect import parse_condition
from raftviz.lesson_format import parse_lesson
from raftviz.lesson_player import Player

LESSON = "# T\nminutes: 5\ncluster: 3 nodes, seed 4, quota 1000 bytes\n\n## One\nText.\n"


def test_alarm_requests_are_client_actions():
    for text in ("alarm list", "alarm disarm", "@2 alarm list"):
        assert parse_action(text).client


@pytest.mark.parametrize("text, message", [
    ("alarm ring", "unknown alarm command 'ring'"), ("alarm", "`alarm` needs 1 argument"),
])
def test_alarm_request_errors(text, message):
    with pytest.raises(ActionError) as caught:
        parse_action(text)
    assert message in str(caught.value)


@pytest.mark.parametrize("text", [
    "alarm NOSPACE is raised", "alarm nospace is cleared", "alarm NOSPACE is not raised",
    "alarm NOSPACE is raised on all nodes", "alarm NOSPACE is active on node 2",
    "alarm CORRUPT is disarmed", "alarms is 1", "alarms > 0", "not alarm NOSPACE is raised",
])
def test_alarm_conditions(text):
    assert parse_condition(text).text == text


@pytest.mark.parametrize("text, message", [
    ("alarm FIRE is raised", "'FIRE' is no alarm"),
    ("alarm NOSPACE is ringing", "write e.g. alarm NOSPACE is raised"),
    ("alarm NOSPACE is raised on the moon", "write e.g. alarm NOSPACE is raised"),
    ("alarms on node 2 is 1", "the cluster's, not a node's"),
])
def test_alarm_condition_errors(text, message):
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    assert message in str(caught.value)


def test_alarm_conditions_judge_the_view():
    lesson, _ = parse_lesson(LESSON, Path("t.lesson"))
    player = Player(lesson)
    player.execute(o.Tick(40))
    judge = [parse_condition(t) for t in ("alarm NOSPACE is raised", "alarms is 1",
                                          "alarm NOSPACE is raised on all nodes")]
    assert [player.check(c).ok for c in judge] == [False, False, False]
    for n in range(16):
        player.backend.client(f"put report draft-{n}")
        player.execute(o.Tick(3))
    verdicts = [player.check(c) for c in judge]
    assert all(v.ok for v in verdicts)
    assert verdicts[0].actual == "NOSPACE: raised by member 1"
    assert verdicts[2].actual == "NOSPACE: node 1: raised, node 2: raised, node 3: raised"
