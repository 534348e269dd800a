"""Fuzzing the lesson parser and checker: 20,000 generated lesson texts, from random
text to real lessons with lines mutated, dropped and swapped. The only outcome is a lesson
and a list of FILE:LINE problems: never an exception, and every problem names a line that
exists in the text."""

from pathlib import Path

from hypothesis import given, strategies as st

from raftviz.lesson_check import check_lesson
from raftviz.lesson_format import parse_lesson
from tests.fuzz.fuzzing import FUZZ

LESSONS = sorted((Path(__file__).parents[2] / "lessons").glob("*.lesson"))
REAL = [p.read_text(encoding="utf-8").splitlines() for p in LESSONS]
WORDS = ["do:", "expect:", "predict:", "answer:", "why:", "your turn:", "## Step", "# T",
         "minutes:", "cluster:", "- 1", "- x", "partition 1 | 2", "crash 9", "tick -3",
         "put k v", "txn", "leader is 7", "term > x", "run until", "within 0 ticks",
         "@4 get", "$nope", "lease grant 0 as l", "watch k as w", "//", "deliver MsgVote"]


def lines_of(draw_lines) -> str:
    return "\n".join(draw_lines)


mutated_real = st.tuples(st.integers(0, len(REAL) - 1),
                         st.lists(st.tuples(st.integers(0, 400), st.sampled_from(WORDS),
                                            st.text(max_size=12)), max_size=6),
                         st.integers(0, 400))


@FUZZ
@given(st.one_of(st.text(max_size=300),
                 st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=30)),
                          max_size=30).map(lines_of),
                 mutated_real))
def test_any_lesson_text_gives_problems_not_exceptions(case):
    text = case if isinstance(case, str) else _mutate(*case)
    path = Path("fuzz.lesson")
    lesson, problems = parse_lesson(text, path)
    problems += check_lesson(lesson)
    count = len(text.splitlines()) + 1     # a problem may point just past the end
    for p in problems:
        assert 0 <= p.line <= count, p
        assert p.message and "\n" not in p.message


def _mutate(which: int, edits, cut: int) -> str:
    lines = list(REAL[which])
    for where, word, tail in edits:
        lines.insert(where % (len(lines) + 1), f"{word} {tail}")
    if lines:
        del lines[cut % len(lines)]
    return "\n".join(lines)
