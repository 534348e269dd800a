"""The lesson format is forgiving: keyword case, list blocks, comments, code blocks and
`why:` paragraphs; and the action and condition grammar reads what FORMAT.md promises."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine import observe as o
from raftviz.lesson_actions import ActionError, parse_action
from raftviz.lesson_conditions import ConditionError
from raftviz.lesson_expect import parse_condition
from raftviz.lesson_format import lesson_name, parse_lesson
from raftviz.lesson_player import Player

from .helpers import commands

TEXT = """// a note for teachers, never shown
# Forgiving
Minutes: 4 min
CLUSTER: 5 nodes, seed 9

Intro line one
and two.

## First
Narration with `code`.

```
do: this is a code block, not an action
```

DO:
- tick 2
- crash leader
Expect:
- there is no leader
- not node 1 is down
why: Because
it continued.

Note: an ordinary line of narration.
"""


def test_forgiving_syntax():
    lesson, problems = parse_lesson(TEXT, Path("03-forgiving.lesson"))
    assert problems == []
    assert (lesson.title, lesson.minutes, lesson.nodes, lesson.seed) == ("Forgiving", 4, 5, 9)
    assert lesson.name == "forgiving" and lesson.intro == "Intro line one\nand two."
    step = lesson.steps[0]
    assert [a.text for _, a in step.actions] == ["tick 2", "crash leader"]
    assert [c.text for _, c in step.expects] == ["there is no leader", "not node 1 is down"]
    assert step.why == "Because it continued."
    assert "do: this is a code block" in step.narration
    assert "Note: an ordinary line" in step.narration
    assert [line for line, _ in step.actions] == [17, 18]


def test_lesson_names():
    assert lesson_name(Path("07-split-vote.lesson")) == "split-vote"
    assert lesson_name(Path("mine.lesson")) == "mine"


@pytest.mark.parametrize("text, command", [
    ("tick", o.Tick(1)), ("step 7", o.Step(7)), ("hold on", o.Hold(True)),
    ("partition 1, 2 | 3", o.Partition.groups((1, 2), (3,))),
    ("cut 1->2", o.Partition(((1, 2),))), ("cut 3<->1", o.Partition(((3, 1), (1, 3)))),
    ("heal", o.Heal()), ("crash 2 wipe", o.Crash(2, o.CrashMode.WIPE)),
    ("crash 3 torn", o.Crash(3, o.CrashMode.TORN)),
    ("restart 2", o.Restart(2)), ("pause node 3", o.PauseNode(3)),
    ("resume 3", o.PauseNode(3, False)), ("skew 2 250%", o.SkewClock(2, 250)),
    ("transfer leadership to 3", o.TransferLeader(3)), ("promote 4", o.Promote(4)),
    ("add learner", o.AddLearner(0)), ("snapshot 1", o.Snapshot(1)),
    ("network delay 5-40 ms drop 10% fifo", o.SetNetwork(5, 40, 0.1, 0.0, False)),
    ("disk fsync 30 ms", o.SetDisk(30)),
])
def test_actions_become_commands(text, command):
    assert commands(text) == [command]


def test_client_actions():
    action = parse_action("@2 txn mod(k) = $seen then put k v as rev")
    assert action.client and action.nodes == (2,) and action.uses == ("seen",)
    assert action.defines == "rev"
    assert parse_action("send put k v").client
    assert parse_action("watch k --rev=2").opens_watch


@pytest.mark.parametrize("text, message", [
    ("fly 2", "unknown action 'fly'"), ("crash", "write e.g. crash 2"),
    ("crash 2 melt", "unknown crash mode 'melt'; use keep-disk, lose-unsynced, torn, wipe"),
    ("partition 1 2", "groups separated by |"),
    ("partition 1 | 1 2", "only one group"), ("hold maybe", "write `hold on`"),
    ("tick many", "not a count"), ("run until leader is within 5 ticks", "leader is 2"),
    ("remember the weather as w", "not something raftviz can measure"),
    ("deliver MsgApp over 3", "say from N or to N"),
])
def test_action_errors(text, message):
    with pytest.raises(ActionError, match=None) as caught:
        parse_action(text)
    assert message in str(caught.value)


@pytest.mark.parametrize("text", [
    "leader is node 2", "there is no leader", "node 3 is a learner", "node 2 is not down",
    "voters are 1,2,3", "commit >= 5 on all nodes", "commit on node 2 is at least 3",
    "applied on node 4 is applied on node 1", "held MsgVote is 2", "in-flight MsgSnap is 1",
    "key k is missing", "key k exists", "key k mod revision is $seen", "key k = v",
    "read k at node 3 serializable returns v", "read k at revision 2 returns nothing",
    "read k @2 fails with \"timed out\"", "watch 1 received at least 2 events",
    "watch 2 is cancelled", "lease $lock expired", "lease web remaining >= 3",
    "error contains \"compacted\"", "answer is \"OK\"", "no error", "$a > $b",
    "unsynced entries on node 1 is 1", "time > 100",
])
def test_conditions_read(text):
    assert parse_condition(text).text == text


@pytest.mark.parametrize("text, message", [
    ("leader is", "leader is 2"), ("the sky is blue", "cannot read expectation"),
    ("revision on node 2 is 3 on all", "say once which node"),
    ("keys on node 2 is 3", "the cluster's, not a node's"),
    ("watch x received 2 events", "not a watch number"),
    ("read k", "returns VALUE"), ("answer contains OK", None),
    ("term is 'open", "cannot read"),
])
def test_condition_errors(text, message):
    if message is None:           # an unquoted single word is fine
        parse_condition(text)
        return
    with pytest.raises(ConditionError) as caught:
        parse_condition(text)
    assert message in str(caught.value)


def test_conditions_judge_a_real_cluster():
    lesson, _ = parse_lesson("# T\nminutes: 1\ncluster: 3 nodes, seed 4\n## S\nx\n",
                             Path("t.lesson"))
    player = Player(lesson)
    list(parse_action("run until there is a leader within 40 ticks").run(player))
    list(parse_action("put k v as rev").run(player))
    verdicts = {text: player.check(parse_condition(text)) for text in (
        "leader is 1", "term on all nodes is 1", "key k mod revision is $rev",
        "revision is $rev", "read k returns v", "answer is \"OK\"", "leader is 2",
        "commit on node 9 is 1")}
    assert [v.ok for v in verdicts.values()] == [True] * 6 + [False, False]
    assert verdicts["leader is 2"].actual == "leader is 1 (term 1)"
    assert verdicts["commit on node 9 is 1"].actual == "there is no node 9"
