"""Playing a lesson on a simulated cluster: the one engine behind headless runs and the TUI.

`Player` carries out a step's actions and checks its expectations on a `SimBackend`, as a
stream of `Outcome`s (None between them whenever the cluster moved, so an interface can draw
a frame). It remembers the names a lesson gives (`lease grant 10 as lock` -> `$lock`) and the
answer to the last client request. For the TUI it also marks where each step started and
ended, so a student who wandered off can be brought back: the simulator rebuilds any earlier
moment from its seed, and a history the student forked is replayed from the lesson's record.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Generator, Iterator

from engine import observe as o
from engine.observe import ClusterView, CommandRefused
from engine.sim.backend import SimBackend

from .lesson_actions import WAIT_TICKS, ActionFailed, Progress
from .lesson_conditions import Answer, Condition, ConditionError, Verdict
from .lesson_format import Lesson, Step


class LessonError(Exception):
    """A lesson that cannot be played at all; the text is one line for the user."""


@dataclass(frozen=True, slots=True)
class Outcome:
    kind: str          # do | said | failed | pass | fail
    text: str
    detail: str = ""

    @property
    def bad(self) -> bool:
        return self.kind in ("failed", "fail")


@dataclass(frozen=True)
class Mark:
    """A moment of the lesson: the simulator's event, its record so far, the lesson's names."""
    event: int
    commands: tuple[o.Command, ...]
    names: tuple[tuple[str, str], ...]
    last: Answer | None


def unsupported(lesson: Lesson) -> str | None:
    """Why this simulator cannot play the lesson, or None if it can."""
    takes = inspect.signature(SimBackend).parameters
    if lesson.quota is not None and "quota_bytes" not in takes:
        return "it sets a storage quota, which this version of the simulator cannot do"
    if not (lesson.pre_vote and lesson.check_quorum) and "pre_vote" not in takes:
        return "it turns PreVote or CheckQuorum off, which this simulator cannot do"
    return None


def make_backend(lesson: Lesson) -> SimBackend:
    reason = unsupported(lesson)
    if reason:
        raise LessonError(f"lesson {lesson.name}: {reason}")
    options = {}
    if lesson.quota is not None:
        options["quota_bytes"] = lesson.quota
    if not (lesson.pre_vote and lesson.check_quorum):
        options.update(pre_vote=lesson.pre_vote, check_quorum=lesson.check_quorum)
    return SimBackend(lesson.nodes, lesson.seed, **options)


class Player:
    def __init__(self, lesson: Lesson, backend: SimBackend | None = None) -> None:
        self.lesson = lesson
        self.backend = backend if backend is not None else make_backend(lesson)
        self.names: dict[str, str] = {}
        self.last: Answer | None = None
        self.changes = 0           # how often the cluster changed, for cheap polling
        self.backend.subscribe(self._changed)

    def _changed(self) -> None:
        self.changes += 1

    # -- running a step --

    def run_step(self, step: Step, actions: bool = True) -> Iterator[Outcome | None]:
        if actions:
            for _, action in step.actions:
                yield Outcome("do", action.text)
                yield from self._act(action.run(self))
        yield from self.check_all([c for _, c in step.waits + step.expects])

    def _act(self, progress: Progress) -> Iterator[Outcome | None]:
        try:
            for said in progress:
                yield None if said is None else Outcome("said", said)
        except (ActionFailed, CommandRefused, ConditionError) as exc:
            yield Outcome("failed", str(exc))

    def check_all(self, conditions: list[Condition]) -> Iterator[Outcome]:
        for condition in conditions:
            verdict = self.check(condition)
            yield Outcome("pass" if verdict.ok else "fail", condition.text, verdict.actual)

    def holds(self, conditions: list[Condition]) -> bool:
        """Whether every condition holds now (for a step that waits for the student)."""
        return all(self.check(c).ok for c in conditions)

    # -- the Runner protocol (what actions use) --

    def execute(self, command: o.Command) -> str:
        return self.backend.execute(command)

    def view(self) -> ClusterView:
        return self.backend.view()

    def client(self, line: str, node: int, wait: bool, save_as: str | None) -> Progress:
        line = self.substitute(line)
        answer, revision = yield from self._send(line, node, wait)
        self.last = answer
        if save_as:
            self.names[save_as] = _saved_value(line, answer, revision)
            yield f"{_one_line(answer.text) or answer.status}  (${save_as} = " \
                  f"{self.names[save_as] or 'nothing'})"
        else:
            yield _one_line(answer.text) or f"({answer.status})"

    def _send(self, line: str, node: int,
              wait: bool) -> Generator[None, None, tuple[Answer, int]]:
        """Send a request and, if asked, let time run until it is answered (as etcdctl
        waits); returns the answer and the revision the request made (0 if none)."""
        result = self.backend.client(line, node)
        waited = 0
        while wait and self._trace(result.request_id).status == "pending" \
                and waited < WAIT_TICKS:
            self.backend.execute(o.Tick())
            waited += 1
            yield None
        trace = self._trace(result.request_id)
        return Answer(line, trace.status, trace.answer, trace.id), trace.revision

    def _trace(self, request_id: str) -> o.RequestTrace:
        trace = self.backend.view().request(request_id)
        if trace is None:
            raise ActionFailed(f"request {request_id} was forgotten")
        return trace

    def substitute(self, line: str) -> str:
        def value(m: re.Match) -> str:
            if m.group(1) not in self.names:
                raise ActionFailed(f"${m.group(1)} has no value yet")
            return self.names[m.group(1)]
        return re.sub(r"\$([A-Za-z_][\w-]*)", value, line)

    def value(self, name: str) -> str:
        if name not in self.names:
            raise ConditionError(f"${name} has no value yet")
        return self.names[name]

    def remember(self, name: str, value: str) -> None:
        self.names[name] = value

    def check(self, condition: Condition) -> Verdict:
        try:
            return condition.evaluate(self)
        except (ConditionError, ActionFailed, CommandRefused) as exc:
            return Verdict(False, str(exc))

    # -- the Probe protocol (what conditions use) --

    def last_answer(self) -> Answer | None:
        """The last request's answer as it stands now: one sent without waiting may have
        been answered since."""
        last = self.last
        if last is not None and last.status == "pending":
            trace = self.backend.view().request(last.request_id)
            if trace is not None:
                return Answer(last.line, trace.status, trace.answer, trace.id)
        return last

    def read(self, line: str, node: int) -> Answer:
        progress = self._send(self.substitute(line), node, wait=True)
        while True:
            try:
                next(progress)
            except StopIteration as done:
                return done.value[0]

    # -- marks: where a step started or ended, to come back to --

    def mark(self) -> Mark:
        view = self.backend.view()
        commands = self.backend.scenario(upto=view.event).commands
        return Mark(view.event, tuple(commands), tuple(sorted(self.names.items())), self.last)

    def moved_from(self, mark: Mark) -> bool:
        """Whether the cluster is no longer where the mark says (the student acted)."""
        return self.mark().commands != mark.commands

    def restore(self, mark: Mark) -> None:
        """Bring the cluster back to the mark: by going back in the simulator's history if
        the student only added to it, else by replaying the lesson's record from the start."""
        if self.backend.scenario(upto=mark.event).commands == mark.commands \
                and self.backend.view().last_event >= mark.event:
            self.backend.execute(o.GoTo(mark.event))
        else:
            self.backend.execute(o.GoTo(0))
            for command in mark.commands:
                self.backend.execute(command)
        self.names, self.last = dict(mark.names), mark.last


def _saved_value(line: str, answer: Answer, revision: int) -> str:
    """What `as NAME` keeps: a lease's id, a watch's number, the value a get read, or the
    revision a write made."""
    if answer.status != "done":
        return ""
    m = re.match(r"lease ([0-9a-f]+) granted|watch (\d+) on node", answer.text)
    if m:
        return m.group(1) or m.group(2)
    if line.split()[0].lower() == "get":
        lines = answer.text.splitlines()
        return lines[1] if len(lines) >= 2 else ""
    return str(revision) if revision else ""


def _one_line(text: str) -> str:
    return " · ".join(line for line in text.splitlines() if line.strip())
