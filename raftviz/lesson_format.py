"""The lesson file format: plain text a teacher writes, read into `Lesson` and `Step`s.

    # Leader election and terms          <- the title
    minutes: 8                           <- header fields
    cluster: 3 nodes, seed 4             <- also: quota 1000 bytes, pre-vote off, ...
    Intro text...
    ## Who wins?                         <- each step starts with ##
    Narration (markdown)...
    predict: Which node leads first?     <- optional question, choices, answer
    - 1
    - 2
    answer: 1
    do: run until there is a leader      <- actions, run in order
    expect: leader is 1                  <- checks, after the actions
    why: Node 1's timer ran out first.   <- shown once the step has run

Everything else is narration. Problems are collected as (line, message) pairs instead of
stopping at the first, so `lesson check` can report them all; lessons/FORMAT.md is the
teacher's guide to the format.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from .lesson_actions import Action, ActionError, parse_action
from .lesson_conditions import Condition, ConditionError
from .lesson_expect import parse_condition

MAX_NODES = 9
KEYWORDS = {"do": "do", "action": "do", "actions": "do", "expect": "expect",
            "predict": "predict", "answer": "answer", "your turn": "wait",
            "wait for": "wait", "why": "why", "minutes": "minutes", "cluster": "cluster"}
_KEYWORD_LINE = re.compile(r"^([A-Za-z][A-Za-z ]{0,14}?)\s*:(?:\s+(.*)|\s*)$")
_ITEM = re.compile(r"^\s*[-*]\s+(.*)$")


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


@dataclass
class Predict:
    line: int
    question: str
    choices: list[str] = field(default_factory=list)
    answer: str | None = None

    def choice_number(self, text: str) -> int | None:
        """1-based number of a choice given by its words or, failing that, its number
        (words first: a choice may itself be a number)."""
        wanted = text.strip().lower()
        for i, choice in enumerate(self.choices, 1):
            if choice.lower() == wanted:
                return i
        if wanted.isdigit() and 1 <= int(wanted) <= len(self.choices):
            return int(wanted)
        return None

    def guess_number(self, text: str) -> int | None:
        """A student's guess: its position among the choices (as the TUI numbers them),
        or its words."""
        text = text.strip()
        if text.isdigit():
            return int(text) if 1 <= int(text) <= len(self.choices) else None
        return self.choice_number(text)


@dataclass
class Step:
    line: int
    title: str
    narration: str = ""
    actions: list[tuple[int, Action]] = field(default_factory=list)
    expects: list[tuple[int, Condition]] = field(default_factory=list)
    waits: list[tuple[int, Condition]] = field(default_factory=list)
    predict: Predict | None = None
    why: str = ""


@dataclass
class Lesson:
    path: Path
    title: str = ""
    minutes: int = 0
    nodes: int = 3
    seed: int = 1
    quota: int | None = None
    pre_vote: bool = True
    check_quorum: bool = True
    intro: str = ""
    steps: list[Step] = field(default_factory=list)

    @property
    def name(self) -> str:
        return lesson_name(self.path)


def lesson_name(path: Path) -> str:
    """`07-leader-crash.lesson` is called `leader-crash`; the number only orders the list."""
    return re.sub(r"^\d+[-_]", "", path.stem)


# --- reading a file ---------------------------------------------------------------------


class _Reader:
    """Walks the lines once, keeping track of which block the next line belongs to."""

    def __init__(self, path: Path) -> None:
        self.lesson = Lesson(path)
        self.problems: list[Problem] = []
        self.step: Step | None = None
        self.list_kind: str | None = None    # do | expect | wait | predict: `- item` lines
        self.why_open = False
        self.fenced = False
        self.intro: list[str] = []
        self.text: list[str] = []
        self.saw_minutes = False

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    def feed(self, number: int, raw: str) -> None:
        line = raw.rstrip()
        stripped = line.strip()
        if stripped.startswith("```"):
            self.fenced = not self.fenced
        if not self.fenced and stripped.startswith("//"):
            return
        if self.fenced or stripped.startswith("```"):
            self.narrate(line)
            return
        if not stripped:
            self.list_kind, self.why_open = None, False
            self.narrate("")
            return
        self.structured(number, line, stripped)

    def structured(self, number: int, line: str, stripped: str) -> None:
        if stripped.startswith("## "):
            return self.start_step(number, stripped[3:].strip())
        if stripped.startswith("# "):
            return self.title(number, stripped[2:].strip())
        item = _ITEM.match(line)
        if item and self.list_kind:
            return self.item(number, item.group(1).strip())
        m = _KEYWORD_LINE.match(stripped)
        kind = KEYWORDS.get(" ".join(m.group(1).lower().split())) if m else None
        if kind:
            return self.keyword(number, kind, (m.group(2) or "").strip())
        if m:
            self.near_miss(number, m.group(1))
        if self.why_open and self.step is not None:
            self.step.why += " " + stripped
            return
        self.list_kind = None
        self.narrate(line)

    def near_miss(self, number: int, head: str) -> None:
        close = difflib.get_close_matches(head.lower(), KEYWORDS, n=1, cutoff=0.75)
        if close and head.islower():
            self.problem(number, f"unknown keyword '{head}:' (did you mean '{close[0]}:'?)")

    def narrate(self, line: str) -> None:
        (self.text if self.step is not None else self.intro).append(line)

    # -- headings --

    def title(self, number: int, title: str) -> None:
        if self.lesson.title or self.step is not None:
            self.problem(number, "a lesson has one # title; start steps with ##")
            return
        self.lesson.title = title

    def start_step(self, number: int, title: str) -> None:
        self.close_step()
        if not self.lesson.title:
            self.problem(number, "the lesson needs a # title before its first step")
        self.step = Step(number, title or f"Step {len(self.lesson.steps) + 1}")
        self.list_kind, self.why_open = None, False

    def close_step(self) -> None:
        if self.step is not None:
            self.step.narration = "\n".join(self.text).strip()
            self.lesson.steps.append(self.step)
        self.text = []

    # -- keywords and list items --

    def keyword(self, number: int, kind: str, rest: str) -> None:
        self.why_open = False
        if kind in ("minutes", "cluster"):
            return self.header(number, kind, rest)
        if self.step is None:
            self.problem(number, f"'{kind}:' belongs in a step; start one with ##")
            return
        self.list_kind = kind if kind in ("do", "expect", "wait", "predict") else None
        if kind == "predict":
            return self.predict(number, rest)
        if kind == "answer":
            return self.answer(number, rest)
        if kind == "why":
            self.step.why = (self.step.why + " " + rest).strip()
            self.why_open = True
            return
        if rest:
            self.item(number, rest)

    def item(self, number: int, text: str) -> None:
        step = self.step
        assert step is not None and self.list_kind is not None
        if self.list_kind == "predict":
            assert step.predict is not None
            step.predict.choices.append(text)
            return
        try:
            if self.list_kind == "do":
                step.actions.append((number, parse_action(text)))
            else:
                target = step.expects if self.list_kind == "expect" else step.waits
                target.append((number, parse_condition(text)))
        except (ActionError, ConditionError) as exc:
            self.problem(number, str(exc))

    def predict(self, number: int, question: str) -> None:
        step = self.step
        assert step is not None
        if step.predict is not None:
            self.problem(number, "a step asks at most one predict: question")
            self.list_kind = None
            return
        if not question:
            self.problem(number, "predict: needs a question on the same line")
        step.predict = Predict(number, question)

    def answer(self, number: int, text: str) -> None:
        step = self.step
        assert step is not None
        if step.predict is None:
            self.problem(number, "answer: without a predict: question before it")
        elif step.predict.answer is not None:
            self.problem(number, "a predict: question has one answer:")
        elif not text:
            self.problem(number, "answer: is empty; give one of the choices")
        else:
            step.predict.answer = text

    # -- the header --

    def header(self, number: int, kind: str, rest: str) -> None:
        if self.step is not None:
            self.problem(number, f"'{kind}:' belongs in the header, before the first step")
        elif kind == "minutes":
            self.minutes(number, rest)
        else:
            self.cluster(number, rest)

    def minutes(self, number: int, rest: str) -> None:
        self.saw_minutes = True
        m = re.fullmatch(r"(\d+)\s*(?:min|mins|minutes)?", rest.strip().lower())
        if not m or not 1 <= int(m.group(1)) <= 240:
            self.problem(number, f"minutes: {rest!r} is not a number of minutes (1 to 240)")
            return
        self.lesson.minutes = int(m.group(1))

    def cluster(self, number: int, rest: str) -> None:
        for part in (p.strip().lower() for p in rest.split(",") if p.strip()):
            m = re.fullmatch(r"(\d+)\s*nodes?|seed\s+(\d+)|quota\s+(\d+)\s*(bytes|kib|kb)?"
                             r"|(pre-?vote|check-?quorum)\s+(on|off)", part)
            if not m:
                self.problem(number, f"cluster: cannot read {part!r}; write e.g. "
                                     f"cluster: 3 nodes, seed 4, pre-vote off")
            elif m.group(1):
                self.nodes(number, int(m.group(1)))
            elif m.group(2):
                self.lesson.seed = int(m.group(2))
            elif m.group(3):
                unit = 1024 if m.group(4) in ("kib", "kb") else 1
                self.lesson.quota = int(m.group(3)) * unit
            else:
                option = "pre_vote" if m.group(5).startswith("pre") else "check_quorum"
                setattr(self.lesson, option, m.group(6) == "on")

    def nodes(self, number: int, count: int) -> None:
        if not 1 <= count <= MAX_NODES:
            self.problem(number, f"cluster: a simulated cluster has 1 to {MAX_NODES} nodes")
            return
        self.lesson.nodes = count

    def finish(self, last_line: int) -> Lesson:
        self.close_step()
        self.lesson.intro = "\n".join(self.intro).strip()
        if not self.lesson.title:
            self.problem(1, "the lesson needs a title: a first line like # Leader election")
        elif not self.saw_minutes:
            self.problem(1, "the header needs minutes: (how long the lesson takes)")
        if not self.lesson.steps:
            self.problem(last_line, "the lesson has no steps; start each with ##")
        return self.lesson


def parse_lesson(text: str, path: Path) -> tuple[Lesson, list[Problem]]:
    reader = _Reader(path)
    lines = text.splitlines()
    for number, raw in enumerate(lines, 1):
        reader.feed(number, raw)
    lesson = reader.finish(max(len(lines), 1))
    return lesson, reader.problems
