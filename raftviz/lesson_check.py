"""`lesson check`: everything wrong with a lesson file, as `FILE:LINE: message` lines.

Reading the file already reports what cannot be parsed (unknown actions, unreadable
expectations). This pass follows the lesson from step to step, the way playing it would,
and rejects what could never work: a node the cluster does not have, a `$name` used before
anything set it, a watch that was never opened, an answer checked before any request was
sent, a read where the lesson must only look (`your turn:` and `run until` are polled), and
predict blocks without two choices and one of them as the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .lesson_actions import Action
from .lesson_conditions import Condition
from .lesson_format import Lesson, Problem, Step, parse_lesson


@dataclass
class _Known:
    """What exists at a point in the lesson."""
    nodes: set[int]
    names: set[str] = field(default_factory=set)
    watches: int = 0
    sent: bool = False


def read_and_check(path: Path) -> tuple[Lesson, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        return Lesson(path), [Problem(0, f"cannot read the file: {reason}")]
    lesson, problems = parse_lesson(text, path)
    problems += check_lesson(lesson)
    return lesson, sorted(problems, key=lambda p: p.line)


def check_lesson(lesson: Lesson) -> list[Problem]:
    problems: list[Problem] = []
    known = _Known(set(range(1, lesson.nodes + 1)))
    for step in lesson.steps:
        problems += _check_step(step, known)
    return problems


def _check_step(step: Step, known: _Known) -> list[Problem]:
    problems = _check_predict(step)
    if not step.narration and not step.predict:
        problems.append(Problem(step.line, "the step has no narration: say what to look at"))
    for line, action in step.actions:
        problems += [Problem(line, m) for m in _check_action(action, known)]
    for line, condition in step.waits:
        problems += [Problem(line, m) for m in _check_condition(condition, known, polled=True)]
    for line, condition in step.expects:
        problems += [Problem(line, m) for m in _check_condition(condition, known, False)]
    return problems


def _check_predict(step: Step) -> list[Problem]:
    p = step.predict
    if p is None:
        return []
    if len(p.choices) < 2:
        return [Problem(p.line, "predict: needs at least two choices, each on a line "
                                "starting with - right below the question")]
    if p.answer is None:
        return [Problem(p.line, "predict: has no answer: line")]
    if p.choice_number(p.answer) is None:
        return [Problem(p.line, f"answer: {p.answer!r} is not one of the choices "
                                f"({', '.join(p.choices)})")]
    return []


def _check_action(action: Action, known: _Known) -> list[str]:
    messages = []
    if action.adds_node is not None:
        known.nodes.add(action.adds_node or max(known.nodes) + 1)
    messages += _unknown_nodes(action.nodes, known)
    messages += [f"${name} is used before anything sets it (use `... as {name}` first)"
                 for name in action.uses if name not in known.names]
    if action.condition is not None:
        messages += _check_condition(action.condition, known, polled=True)
    if action.defines:
        known.names.add(action.defines)
    known.watches += action.opens_watch
    known.sent = known.sent or action.client
    return messages


def _check_condition(condition: Condition, known: _Known, polled: bool) -> list[str]:
    refs = condition.refs
    messages = _unknown_nodes(refs.nodes, known)
    messages += [f"${name} is never set before this (set it with `... as {name}`)"
                 for name in refs.names if name not in known.names]
    messages += [f"there is no watch {w} yet (watches are numbered 1, 2, ... as the lesson "
                 f"opens them)" for w in refs.watches if w > known.watches]
    if refs.answer and not known.sent:
        messages.append("no client request was sent before this, so there is no answer "
                        "to check")
    if refs.acts and polled:
        messages.append("a read sends a request, so it cannot be waited for; use it in "
                        "expect: instead")
    return messages


def _unknown_nodes(nodes: tuple[int, ...], known: _Known) -> list[str]:
    size = len(known.nodes)
    return [f"there is no node {n} in this {size}-node cluster"
            for n in nodes if n not in known.nodes]


def format_problems(path: Path, problems: list[Problem]) -> list[str]:
    return [f"{path}:{p.line}: {p.message}" if p.line else f"{path}: {p.message}"
            for p in problems]
