"""The shipped lessons: each one plays headless with every expectation holding, always
prints the same text, and `list`, `run` and `check` behave on the command line."""

from __future__ import annotations

import pytest

from raftviz.lesson_headless import play
from raftviz.lesson_player import unsupported
from raftviz.lessons import LESSONS_DIR, load

from .helpers import LESSONS, raftviz

TOPICS = ("keys-values", "leader-election", "log-replication", "follower-crash",
          "leader-crash", "partition", "split-vote", "prevote-checkquorum", "reads",
          "leader-transfer", "membership", "mvcc-history", "compaction-defrag", "watches",
          "leases", "transactions", "snapshots", "wal-recovery", "locks", "quota")


def test_the_curriculum_covers_every_topic():
    names = [load(p).name for p in LESSONS]
    assert names == list(TOPICS)
    assert sum(unsupported(load(p)) is None for p in LESSONS) >= 16


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_plays_headless_and_every_expectation_holds(path):
    lesson = load(path)
    if unsupported(lesson):
        pytest.skip(f"{lesson.name}: {unsupported(lesson)} (see the quota hook)")
    lines: list[str] = []
    score = play(lesson, write=lines.append)
    assert score.ok, "\n".join(lines)
    assert score.checks >= 5 and score.passed == score.checks
    assert not any("✗" in line for line in lines)


def test_same_seed_same_output():
    path = LESSONS_DIR / "06-partition.lesson"
    first, second = [], []
    play(load(path), write=first.append)
    play(load(path), write=second.append)
    assert first == second and len(first) > 40


def test_list_shows_name_title_and_minutes(monkeypatch, capsys):
    assert raftviz(monkeypatch, "lesson", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(LESSONS)
    assert lines[1].split()[0] == "leader-election"
    assert "Leader election and terms (10 min)" in lines[1]


def test_run_headless_exit_status_and_output(monkeypatch, capsys):
    assert raftviz(monkeypatch, "lesson", "run", "keys-values", "--headless",
                   "--answers", "2") == 0
    out = capsys.readouterr().out
    assert "── Step 3 of 7: Changing a key ──" in out
    assert "! answer: 3 · guess: 3 · right" in out
    assert out.rstrip().endswith("Result: 24 of 24 expectations hold; 1 of 1 predictions right.")


def test_run_by_number_and_default_guess(monkeypatch, capsys):
    assert raftviz(monkeypatch, "lesson", "run", "2", "--headless") == 0
    out = capsys.readouterr().out
    assert "guess (default: the first choice)" in out and "not this time" in out


def test_check_passes_every_shipped_lesson(monkeypatch, capsys):
    assert raftviz(monkeypatch, "lesson", "check") == 0
    assert capsys.readouterr().out == f"{len(LESSONS)} lessons checked: no problems\n"


@pytest.mark.parametrize("argv, message", [
    (("lesson", "run", "no-such-lesson", "--headless"), "no lesson named 'no-such-lesson'"),
    (("lesson", "list", "--lessons", "/nonexistent"), "no lesson directory /nonexistent"),
    (("lesson", "run", "2", "--headless", "--answers", "9"), "answer '9' for"),
    (("lesson", "frobnicate"), "invalid choice: 'frobnicate'"),
])
def test_errors_are_one_line(monkeypatch, capsys, argv, message):
    assert raftviz(monkeypatch, *argv) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("raftviz: error: ") and message in captured.err
    assert "Traceback" not in captured.err + captured.out
