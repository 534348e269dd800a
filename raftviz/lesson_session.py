"""A lesson as a student moves through it in the TUI: which step, in which state, and what
the narration panel should say. No Textual here, so it is tested without a screen.

Each step goes: ready (narration shown, waiting for "next") -> running (the step's
actions play a little per frame, so `run until` unfolds visibly) -> done (results and the
answer shown). A `your turn:` step waits instead of running: it is done when its
condition holds, whatever the student did to get there, or when the student asks to be
shown. Between steps the student may do anything; if the cluster is no longer where the
lesson left it, the panel says so and offers to restore it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterator

from .lesson_format import Lesson, Step
from .lesson_player import Mark, Outcome, Player


class Phase(enum.Enum):
    INTRO = "intro"
    READY = "ready"
    WAITING = "waiting"       # a `your turn:` step, until its condition holds
    RUNNING = "running"
    DONE = "done"
    FINISHED = "finished"


@dataclass(frozen=True)
class Panel:
    """Everything the narration panel shows, as plain data."""
    title: str
    position: str
    heading: str
    body: str
    actions: tuple[str, ...] = ()
    question: str = ""
    choices: tuple[str, ...] = ()
    guess: int = 0
    answer: int = 0                          # 0 until revealed
    results: tuple[Outcome, ...] = ()
    why: str = ""
    status: str = ""
    warn: bool = False
    can_back: bool = False
    can_restore: bool = False
    can_show: bool = False


@dataclass
class StepRecord:
    start: Mark
    results: list[Outcome] = field(default_factory=list)
    end: Mark | None = None


class LessonSession:
    def __init__(self, lesson: Lesson, player: Player | None = None,
                 answers: list[str] | tuple[str, ...] = ()) -> None:
        self.lesson = lesson
        self.player = player or Player(lesson)
        self.phase = Phase.INTRO
        self.index = -1
        self.records: dict[int, StepRecord] = {}
        self.guesses: dict[int, int] = _preset(lesson, answers)
        self.running: Iterator[Outcome | None] | None = None
        self.notice = ""
        self.armed = ""            # a warning given once; the same key again goes ahead
        self.last_poll = -1

    @property
    def step(self) -> Step | None:
        return self.lesson.steps[self.index] if 0 <= self.index < len(self.lesson.steps) \
            else None

    # -- what the student does --

    def next(self) -> None:
        if self.phase is Phase.INTRO:
            return self._enter(0)
        if self.phase is Phase.READY:
            return self._start()
        if self.phase is Phase.DONE:
            if self.index + 1 >= len(self.lesson.steps):
                self.phase, self.notice = Phase.FINISHED, ""
                return
            return self._enter(self.index + 1)
        if self.phase is Phase.WAITING:
            self.notice = "It is your turn: make the condition true, or press w to be shown."

    def back(self) -> None:
        """Done or finished: this step again, from its start. Ready or waiting: the step
        before. Either way the cluster goes back to where that step began."""
        if self.phase in (Phase.RUNNING, Phase.INTRO):
            return
        target = self.index
        if self.phase in (Phase.READY, Phase.WAITING):
            target = max(self.index - 1, 0)
        self.player.restore(self.records[target].start)
        self._enter(target, fresh=True)

    def restore(self) -> None:
        record = self.records.get(self.index)
        if record is None or self.phase is Phase.RUNNING:
            return
        finished = self.phase in (Phase.DONE, Phase.FINISHED)
        mark = record.end if finished and record.end else record.start
        self.player.restore(mark)
        self.armed, self.notice = "", "The cluster is back where the lesson left it."

    def show_me(self) -> None:
        step = self.step
        if self.phase is Phase.WAITING and step is not None:
            self._run(step, actions=True)

    def choose(self, number: int) -> None:
        step = self.step
        if step is not None and step.predict is not None and self.phase is Phase.READY:
            self.guesses[self.index] = number
            self.notice = ""

    # -- time passing: called every frame by the screen --

    def pump(self, frames: int = 1) -> bool:
        """Advance a running step by up to `frames` cluster moves; True if anything
        changed. In a waiting step, check whether the student has done it."""
        if self.phase is Phase.WAITING:
            return self._poll()
        if self.phase is not Phase.RUNNING or self.running is None:
            return False
        record = self.records[self.index]
        for item in self.running:
            if item is not None:
                record.results.append(item)
                continue
            frames -= 1
            if frames <= 0:
                return True
        self._finish()
        return True

    # -- the steps --

    def _enter(self, index: int, fresh: bool = False) -> None:
        previous = self.records.get(index - 1)
        start = previous.end if previous is not None and previous.end and not fresh \
            else self.player.mark()
        self.index, self.records[index] = index, StepRecord(start)
        step = self.lesson.steps[index]
        self.phase = Phase.WAITING if step.waits else Phase.READY
        self.armed, self.notice = "", ""
        if self.player.moved_from(start):
            self.notice = ("You changed the cluster since the last step. Press o to put it "
                           "back as the lesson left it, or go on from yours.")

    def _start(self) -> None:
        step = self.step
        assert step is not None
        if step.predict is not None and self.index not in self.guesses \
                and self.armed != "guess":
            self.armed, self.notice = "guess", "Make a guess first (or press . again to skip)."
            return
        if self.player.moved_from(self.records[self.index].start) and self.armed != "moved":
            self.armed = "moved"
            self.notice = ("The cluster is not where this step begins. Press o to restore "
                           "it, or . again to run the step on your cluster.")
            return
        self._run(step, actions=True)

    def _run(self, step: Step, actions: bool) -> None:
        self.records[self.index].results = []
        self.running = self.player.run_step(step, actions=actions)
        self.phase, self.armed, self.notice = Phase.RUNNING, "", ""

    def _poll(self) -> bool:
        step = self.step
        if step is None or self.player.changes == self.last_poll:
            return False       # nothing happened since the last look
        self.last_poll = self.player.changes
        if not self.player.holds([c for _, c in step.waits]):
            return False
        self._run(step, actions=False)
        return True

    def _finish(self) -> None:
        self.running = None
        record = self.records[self.index]
        record.end = self.player.mark()
        self.phase = Phase.DONE

    # -- scores --

    def step_ok(self, index: int) -> bool:
        record = self.records.get(index)
        return record is not None and not any(o.bad for o in record.results)

    def right_guesses(self) -> tuple[int, int]:
        asked = [i for i, s in enumerate(self.lesson.steps) if s.predict and i in self.guesses]
        right = [i for i in asked
                 if self.lesson.steps[i].predict.choice_number(
                     self.lesson.steps[i].predict.answer or "") == self.guesses[i]]
        return len(right), len(asked)

    def answers_text(self) -> str:
        """The guesses as `--answers` takes them, for a headless replay."""
        return ",".join(str(self.guesses.get(i, "")) for i, s in enumerate(self.lesson.steps)
                        if s.predict is not None)


def _preset(lesson: Lesson, answers: list[str] | tuple[str, ...]) -> dict[int, int]:
    guesses, asked = {}, 0
    for i, step in enumerate(lesson.steps):
        if step.predict is None:
            continue
        if asked < len(answers) and answers[asked]:
            number = step.predict.guess_number(answers[asked])
            if number is not None:
                guesses[i] = number
        asked += 1
    return guesses


# --- what the panel shows ---------------------------------------------------------------


def panel(session: LessonSession) -> Panel:
    lesson, step = session.lesson, session.step
    if session.phase is Phase.INTRO or step is None:
        return Panel(lesson.title, f"{lesson.minutes} minutes · {len(lesson.steps)} steps",
                     "Introduction", lesson.intro,
                     status="Press . (or Next) to begin.")
    if session.phase is Phase.FINISHED:
        return _finished(session)
    record = session.records.get(session.index)
    done = session.phase is Phase.DONE
    predict = step.predict
    return Panel(
        lesson.title, f"Step {session.index + 1} of {len(lesson.steps)}", step.title,
        step.narration, actions=tuple(a.text for _, a in step.actions),
        question=predict.question if predict else "",
        choices=tuple(predict.choices) if predict else (),
        guess=session.guesses.get(session.index, 0),
        answer=(predict.choice_number(predict.answer or "") or 0) if predict and done else 0,
        results=tuple(record.results) if record else (), why=step.why if done else "",
        status=session.notice or _status(session), warn=bool(session.notice),
        can_back=session.index > 0 or done, can_restore=True,
        can_show=session.phase is Phase.WAITING)


def _status(session: LessonSession) -> str:
    step = session.step
    assert step is not None
    if session.phase is Phase.WAITING:
        wanted = "; ".join(c.text for _, c in step.waits)
        return f"Your turn. The lesson waits until: {wanted}. (w: show me)"
    if session.phase is Phase.RUNNING:
        return "Running…"
    if session.phase is Phase.READY:
        if step.predict is not None and session.index not in session.guesses:
            return "Choose an answer (↑ ↓ Enter), then press . to run this step."
        return "Press . to run this step." if step.actions or step.expects else \
            "Press . to go on."
    failed = sum(1 for o in session.records[session.index].results if o.bad)
    last = session.index + 1 >= len(session.lesson.steps)
    go_on = "Press . to finish." if last else "Press . for the next step."
    if failed:
        return f"{failed} check{'s' if failed > 1 else ''} did not hold. , replays the " \
               f"step; {go_on}"
    return go_on


def _finished(session: LessonSession) -> Panel:
    right, asked = session.right_guesses()
    steps = len(session.lesson.steps)
    held = sum(session.step_ok(i) for i in range(steps))
    lines = [f"You finished **{session.lesson.title}**.", "",
             f"- steps whose checks all held: {held} of {steps}"]
    if asked:
        lines.append(f"- predictions right: {right} of {asked}")
    lines += ["", "Keep exploring the cluster, or press q to quit."]
    return Panel(session.lesson.title, "Finished", "Well done", "\n".join(lines),
                 status="Press , to go back to the last step.", can_back=True)
