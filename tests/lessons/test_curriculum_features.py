"""Lessons built on a simulator feature check what they show: played on a cluster without
the feature, their expectations fail."""

from __future__ import annotations

import pytest

from raftviz.lesson_format import parse_lesson
from raftviz.lesson_headless import play
from raftviz.lessons import LESSONS_DIR


def mutated(name: str, old: str, new: str):
    path = next(LESSONS_DIR.glob(f"*-{name}.lesson"))
    text = path.read_text()
    assert old in text
    lesson, problems = parse_lesson(text.replace(old, new), path)
    assert problems == []
    lines: list[str] = []
    return play(lesson, write=lines.append), lines


@pytest.mark.parametrize("name, old, new, failing", [
    # with PreVote and CheckQuorum on from the start, node 3 never takes over
    ("prevote-checkquorum", ", pre-vote off, check-quorum off", "",
     "term on node 3 is 2"),
    # a power cut that loses the whole write leaves node 3 one entry shorter
    ("wal-recovery", "crash 3 torn", "crash 3 lose-unsynced", "last index on node 3 is 6"),
    # without disarming, the alarm keeps refusing writes
    ("quota", "do: alarm disarm\n", "do: alarm list\n", "alarm NOSPACE is cleared"),
])
def test_a_lesson_fails_without_its_feature(name, old, new, failing):
    score, lines = mutated(name, old, new)
    assert not score.ok
    assert any(failing in line and "✗" in line for line in lines), "\n".join(lines)
