"""`raftviz lesson check FILE`: one small broken lesson per kind of mistake, and the exact
`FILE:LINE: message` lines it must produce."""

from __future__ import annotations

import pytest

from .helpers import raftviz, write

HEADER = "# A lesson\nminutes: 5\ncluster: 3 nodes, seed 4\n\n## Step one\nLook at the nodes.\n"


def check(monkeypatch, capsys, tmp_path, body: str, header: str = HEADER) -> tuple[int, list[str]]:
    path = write(tmp_path, "broken.lesson", header + body)
    status = raftviz(monkeypatch, "lesson", "check", str(path))
    lines = capsys.readouterr().out.splitlines()
    if status == 0:
        assert lines == ["1 lesson checked: no problems"]
        return status, []
    prefix = f"{path}:"
    assert all(line.startswith(prefix) for line in lines), lines
    return status, [line[len(prefix):] for line in lines]


def test_a_good_lesson_passes(monkeypatch, capsys, tmp_path):
    path = write(tmp_path, "good.lesson", HEADER + "do: tick 3\nexpect: term is 0\n")
    assert raftviz(monkeypatch, "lesson", "check", str(path)) == 0
    assert capsys.readouterr().out == "1 lesson checked: no problems\n"


def test_unknown_action(monkeypatch, capsys, tmp_path):
    status, lines = check(monkeypatch, capsys, tmp_path, "do: explode 2\ndo: fetch k\n")
    assert status == 1
    assert lines[0].startswith("7: unknown action 'explode'; known actions: ")
    assert "crash" in lines[0] and "run until" in lines[0]
    assert lines[1].startswith("8: unknown action 'fetch'")


def test_bad_client_commands(monkeypatch, capsys, tmp_path):
    body = "do: put onlykey\ndo: lease borrow 5\ndo: txn mod(k) = 0 put k v\ndo: send\n"
    assert check(monkeypatch, capsys, tmp_path, body)[1] == [
        "7: `put` needs 2 arguments: 'put onlykey'",
        "8: unknown lease command 'borrow'; use grant, revoke, keep-alive, timetolive or list",
        "9: a txn needs `then`: 'txn mod(k) = 0 put k v'",
        "10: a client request is missing after `send` or `@N`",
    ]


def test_bad_node_names_and_numbers(monkeypatch, capsys, tmp_path):
    body = ("do: crash 7\ndo: restart node-two\ndo: partition 1 | 2 9\ndo: @4 get k\n"
            "expect: leader is 5\nexpect: term on node 8 is 1\ndo: add-learner\n"
            "expect: node 4 is learner\n")
    assert check(monkeypatch, capsys, tmp_path, body)[1] == [
        "7: there is no node 7 in this 3-node cluster",
        "8: 'node-two' is not a node number",
        "9: there is no node 9 in this 3-node cluster",
        "10: there is no node 4 in this 3-node cluster",
        "11: there is no node 5 in this 4-node cluster",
        "12: there is no node 8 in this 4-node cluster",
    ]


def test_expectations_that_can_never_be_evaluated(monkeypatch, capsys, tmp_path):
    body = ('expect: answer is "OK"\nexpect: watch 1 received 2 events\n'
            "expect: lease session expired\nexpect: key k version is $seen\n"
            "your turn: read k returns v\ndo: run until read k returns v\n"
            "expect: the moon is full\nexpect: leader is\nexpect: revision on node 2 is 3\n")
    assert check(monkeypatch, capsys, tmp_path, body)[1] == [
        "7: no client request was sent before this, so there is no answer to check",
        "8: there is no watch 1 yet (watches are numbered 1, 2, ... as the lesson opens them)",
        "9: $session is never set before this (set it with `... as session`)",
        "10: $seen is never set before this (set it with `... as seen`)",
        "11: a read sends a request, so it cannot be waited for; use it in expect: instead",
        "12: a read sends a request, so it cannot be waited for; use it in expect: instead",
        "13: cannot read expectation 'the moon is full': 'the moon' is not something raftviz "
        "can measure (try term, commit, applied, last index, revision, db size, ...)",
        "14: cannot read 'leader is'; write e.g. leader is 2",
    ]


def test_names_and_watches_defined_earlier_are_fine(monkeypatch, capsys, tmp_path):
    body = ("do: lease grant 5 as session\ndo: watch k\ndo: put k v as seen\n"
            "expect: lease session is alive\nexpect: watch 1 received 1 event\n"
            "expect: key k mod revision is $seen\nexpect: answer is \"OK\"\n")
    assert check(monkeypatch, capsys, tmp_path, body) == (0, [])


def test_malformed_predict_blocks(monkeypatch, capsys, tmp_path):
    body = ("predict: Who wins?\n- 1\nanswer: 1\n\n## Two\nText.\npredict: Who?\n- a\n- b\n\n"
            "## Three\nText.\npredict: Which?\n- a\n- b\nanswer: c\n\n## Four\nText.\n"
            "answer: a\npredict:\n- a\n- b\nanswer: a\npredict: Again?\n- x\n- y\n")
    assert check(monkeypatch, capsys, tmp_path, body)[1] == [
        "7: predict: needs at least two choices, each on a line starting with - right below "
        "the question",
        "13: predict: has no answer: line",
        "19: answer: 'c' is not one of the choices (a, b)",
        "26: answer: without a predict: question before it",
        "27: predict: needs a question on the same line",
        "31: a step asks at most one predict: question",
    ]


def test_the_header(monkeypatch, capsys, tmp_path):
    header = ("Some words first\n# Title\nminutes: soon\ncluster: 12 nodes, seed x\n\n"
              "## One\nText.\n")
    assert check(monkeypatch, capsys, tmp_path, "", header=header)[1] == [
        "3: minutes: 'soon' is not a number of minutes (1 to 240)",
        "4: cluster: a simulated cluster has 1 to 9 nodes",
        "4: cluster: cannot read 'seed x'; write e.g. cluster: 3 nodes, seed 4, "
        "pre-vote off",
    ]
    assert check(monkeypatch, capsys, tmp_path, "", header="## One\nText.\n")[1] == [
        "1: the lesson needs a # title before its first step",
        "1: the lesson needs a title: a first line like # Leader election",
    ]
    assert check(monkeypatch, capsys, tmp_path, "", header="# T\n\n## One\nText.\n")[1] == [
        "1: the header needs minutes: (how long the lesson takes)"]
    assert check(monkeypatch, capsys, tmp_path, "", header="# T\nminutes: 3\n")[1] == [
        "2: the lesson has no steps; start each with ##"]


def test_typos_misplaced_keywords_and_empty_steps(monkeypatch, capsys, tmp_path):
    body = ("expcet: leader is 1\nminutes: 4\nNote: this line is narration.\n\n"
            "## Silent\ndo: tick\n\n# Second title\n")
    assert check(monkeypatch, capsys, tmp_path, body)[1] == [
        "7: unknown keyword 'expcet:' (did you mean 'expect:'?)",
        "8: 'minutes:' belongs in the header, before the first step",
        "11: the step has no narration: say what to look at",
        "14: a lesson has one # title; start steps with ##",
    ]


def test_keywords_outside_a_step(monkeypatch, capsys, tmp_path):
    header = "# T\nminutes: 3\ndo: tick\n\n## One\nText.\n"
    assert check(monkeypatch, capsys, tmp_path, "", header=header)[1] == [
        "3: 'do:' belongs in a step; start one with ##"]


def test_every_problem_is_reported_with_its_line(monkeypatch, capsys, tmp_path):
    body = "do: explode\ndo: crash 9\nexpect: watch 3 is open\n"
    status, lines = check(monkeypatch, capsys, tmp_path, body)
    assert status == 1 and [line.split(":")[0] for line in lines] == ["7", "8", "9"]


@pytest.mark.parametrize("argv", [("lesson", "check", "/no/such/file.lesson"),
                                  ("lesson", "check", "--lessons", "/nowhere")])
def test_a_missing_file_is_one_line(monkeypatch, capsys, argv):
    assert raftviz(monkeypatch, *argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("raftviz: error: ") and captured.err.count("\n") == 1
    assert captured.err.strip().endswith(("no lesson file /no/such/file.lesson",
                                          "no lesson directory /nowhere"))
