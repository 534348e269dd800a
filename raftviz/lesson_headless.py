"""`raftviz lesson run NAME --headless`: a lesson played straight through, as plain text.

Every step prints its narration, the question it asks (with the student's recorded guess,
or the first choice by default), what each action did, each expectation with a tick or a
cross and what was actually there, and then the answer. A wrong guess is reported but
never fails the run: only actions that could not be carried out and expectations that do
not hold do. The simulator is deterministic, so one lesson always prints the same text.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Callable, Sequence

from .lesson_format import Lesson, Predict, Step
from .lesson_player import Outcome, Player

WIDTH = 88
MARKS = {"do": "›", "said": " ", "failed": "✗", "pass": "✓", "fail": "✗"}


@dataclass
class Score:
    checks: int = 0
    passed: int = 0
    broken: int = 0          # actions the cluster could not carry out
    predictions: int = 0
    right: int = 0

    @property
    def ok(self) -> bool:
        return self.passed == self.checks and not self.broken


def guess_for(predict: Predict, answers: Sequence[str], index: int) -> tuple[int, bool]:
    """The choice (1-based) recorded for the `index`-th question, and whether it was given
    (False: the first choice, by default). Raises ValueError for a guess that is no choice."""
    if index < len(answers) and answers[index].strip():
        number = predict.guess_number(answers[index])
        if number is None:
            raise ValueError(f"answer {answers[index]!r} for {predict.question!r} is not "
                             f"one of its choices")
        return number, True
    return 1, False


def check_answers(lesson: Lesson, answers: Sequence[str]) -> None:
    """Raise ValueError, before anything plays, for guesses that do not fit the lesson."""
    questions = [s.predict for s in lesson.steps if s.predict is not None]
    if len(answers) > len(questions):
        raise ValueError(f"{len(answers)} answers given, but the lesson asks "
                         f"{len(questions)} questions")
    for index, predict in enumerate(questions):
        guess_for(predict, answers, index)


def play(lesson: Lesson, answers: Sequence[str] = (),
         write: Callable[[str], None] = print) -> Score:
    check_answers(lesson, answers)
    player, score = Player(lesson), Score()
    write(f"{lesson.title} · {lesson.minutes} minutes · {lesson.nodes} nodes, "
          f"seed {lesson.seed}")
    if lesson.intro:
        write("")
        _paragraphs(lesson.intro, write, indent="")
    asked = 0
    for number, step in enumerate(lesson.steps, 1):
        write("")
        write(f"── Step {number} of {len(lesson.steps)}: {step.title} ──")
        guess = None
        if step.narration:
            _paragraphs(step.narration, write, indent="  ")
        if step.predict is not None:
            guess = guess_for(step.predict, answers, asked)
            asked += 1
            _ask(step.predict, write)
        if step.waits:
            wanted = "; ".join(c.text for _, c in step.waits)
            write(f"  ⌛ your turn: {wanted} (headless: the lesson does it)")
        _run(player, step, score, write)
        if step.predict is not None and guess is not None:
            _reveal(step.predict, guess, score, write)
        if step.why:
            _paragraphs("Why: " + step.why, write, indent="  ")
    write("")
    write(_summary(score))
    return score


def _run(player: Player, step: Step, score: Score, write: Callable[[str], None]) -> None:
    for outcome in player.run_step(step):
        if outcome is None:
            continue
        score.checks += outcome.kind in ("pass", "fail")
        score.passed += outcome.kind == "pass"
        score.broken += outcome.kind == "failed"
        write(format_outcome(outcome))


def format_outcome(outcome: Outcome) -> str:
    mark = MARKS[outcome.kind]
    if outcome.kind == "said":
        return textwrap.indent(outcome.text, "      ")
    if outcome.kind == "failed":
        return f"    {mark} could not do that: {outcome.text}"
    if outcome.kind == "do":
        return f"  {mark} {outcome.text}"
    if outcome.kind == "fail":
        return f"  {mark} {outcome.text} — but: {outcome.detail}"
    same = outcome.detail in ("", outcome.text)
    return f"  {mark} {outcome.text}" + ("" if same else f" — {outcome.detail}")


def _wrapped(text: str, write: Callable[[str], None]) -> None:
    for part in textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="    ",
                              break_long_words=False, break_on_hyphens=False):
        write(part)


def _ask(predict: Predict, write: Callable[[str], None]) -> None:
    _wrapped(f"? predict: {predict.question}", write)
    for i, choice in enumerate(predict.choices, 1):
        write(f"      {i}) {choice}")


def _reveal(predict: Predict, guess: tuple[int, bool], score: Score,
            write: Callable[[str], None]) -> None:
    number, recorded = guess
    answer = predict.choice_number(predict.answer or "") or 0
    score.predictions += 1
    score.right += number == answer
    how = "guess" if recorded else "guess (default: the first choice)"
    verdict = "right" if number == answer else "not this time"
    _wrapped(f"! answer: {predict.choices[answer - 1]} · {how}: "
             f"{predict.choices[number - 1]} · {verdict}", write)


def _paragraphs(text: str, write: Callable[[str], None], indent: str) -> None:
    """Markdown as plain text: paragraphs reflowed to the width, list items and code kept
    as their own lines."""
    for unit in _units(text):
        if not unit:
            write("")
        elif unit.startswith(("    ", "```")):
            write(indent + unit)
        else:
            hang = " " * (len(unit) - len(unit.lstrip("-*0123456789. ")))
            for part in textwrap.wrap(unit, WIDTH - len(indent), subsequent_indent=hang,
                                      break_long_words=False, break_on_hyphens=False):
                write(indent + part)


def _units(text: str) -> list[str]:
    """Lines joined into the paragraphs and list items they belong to."""
    units: list[str] = []
    fenced = False
    for line in text.splitlines():
        stripped = line.strip()
        joinable = units and units[-1] and not fenced and not units[-1].startswith("    ")
        if stripped.startswith("```"):
            fenced = not fenced
            units.append(line.rstrip())
        elif fenced or not stripped or line.startswith("    ") or _item(stripped):
            units.append(line.rstrip() if stripped else "")
        elif joinable:
            units[-1] += " " + stripped
        else:
            units.append(stripped)
    return units


def _item(line: str) -> bool:
    return line[:2] in ("- ", "* ") or bool(re.match(r"\d+\. ", line))


def _summary(score: Score) -> str:
    text = f"Result: {score.passed} of {score.checks} expectations hold"
    if score.broken:
        text += f"; {score.broken} action{'s' if score.broken != 1 else ''} could not be done"
    if score.predictions:
        text += f"; {score.right} of {score.predictions} predictions right"
    return text + "."
