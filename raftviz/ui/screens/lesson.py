"""A lesson inside the TUI: the narration panel beside the app's live views.

`LessonScreen` is the app's default screen, so the app lays out its usual tabs in it and
keeps them current, while the screen adds the narration panel and the lesson's keys
(. next, , back, o restore, w show me, PgUp / PgDn to read a long step). A timer moves
the lesson on a little each frame, so the views animate while a step runs. `run_lesson`
starts it all and returns a line about the student's guesses to print after the app
closes.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from textual.binding import Binding
from textual.app import ComposeResult
from textual.screen import Screen

from raftviz.lesson_format import Lesson
from raftviz.lesson_session import LessonSession, panel

from ..app import RaftvizApp
from ..widgets.narration import LessonGuess, LessonNav, NarrationPanel

FRAME_HZ = 20            # cluster moves per second while a step runs


class LessonScreen(Screen):
    # The narration docks right from 120 columns (below that, at the bottom); the views
    # beside it are narrow until they have 120 columns of their own (app.tcss).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-beside"), (170, "-wide")]
    BINDINGS = [
        Binding("full_stop,greater_than_sign", "lesson('next')", "Next step", key_display="."),
        Binding("comma,less_than_sign", "lesson('back')", "Back", key_display=","),
        Binding("o", "lesson('restore')", "Restore", show=False),
        Binding("w", "lesson('show')", "Show me", show=False),
        # the step's text scrolls: at 80x24 it has a few lines above the question
        Binding("pageup", "read(-1)", "Scroll the lesson up", show=False),
        Binding("pagedown", "read(1)", "Scroll the lesson down", show=False),
    ]

    HELP_TITLE = "In a lesson"
    HELP_KEYS = [
        (".", "Next step", "Run this step, or go on to the next one."),
        (",", "Back", "Play this step again (before it runs: the one before), the "
                      "cluster back where that step began."),
        ("o", "Restore", "Put the cluster back where the lesson left it."),
        ("w", "Show me", "On a \"your turn\" step, do it for you."),
        ("↑ ↓ Enter", "Answer", "Choose an answer to the step's question, before it runs."),
        ("PgUp PgDn", "Read", "Scroll a step's text too long for the panel."),
    ]

    def __init__(self, session: LessonSession) -> None:
        super().__init__(id="_default")
        self.session = session

    def compose(self) -> ComposeResult:
        yield NarrationPanel()

    def on_mount(self) -> None:
        self.set_interval(1 / FRAME_HZ, self.frame)
        self.redraw()

    def frame(self) -> None:
        if self.session.pump():
            self.redraw()

    def redraw(self) -> None:
        self.query_one(NarrationPanel).panel = panel(self.session)
        if isinstance(self.app, RaftvizApp):
            # what the lesson's last command did, in the simulator's own words
            self.app.show_note(self.session.player.backend.note)

    def action_lesson(self, what: str) -> None:
        actions = {"next": self.session.next, "back": self.session.back,
                   "restore": self.session.restore, "show": self.session.show_me}
        actions[what]()
        self.redraw()

    def action_read(self, pages: int) -> None:
        scroll = self.query_one("#lesson-scroll")
        (scroll.scroll_page_down if pages > 0 else scroll.scroll_page_up)(animate=False)

    def on_lesson_nav(self, message: LessonNav) -> None:
        self.action_lesson(message.action)

    def on_lesson_guess(self, message: LessonGuess) -> None:
        self.session.choose(message.number)
        self.redraw()


class LessonApp(RaftvizApp):
    """The raftviz app with a lesson screen as its default screen."""
    # The stylesheet path is relative to app.py, not to this module.
    CSS_PATH = str(Path(inspect.getfile(RaftvizApp)).with_name(str(RaftvizApp.CSS_PATH)))

    def __init__(self, session: LessonSession, *, theme: str | None = None) -> None:
        self.lesson_session = session
        super().__init__(session.player.backend, theme=theme)
        self.title = f"raftviz · {session.lesson.title}"

    def get_default_screen(self) -> Screen:
        return LessonScreen(self.lesson_session)


def run_lesson(lesson: Lesson, answers: list[str] | tuple[str, ...] = ()) -> str:
    session = LessonSession(lesson, answers=answers)
    LessonApp(session).run()
    return summary(session)


def summary(session: LessonSession) -> str:
    right, asked = session.right_guesses()
    done = sum(session.step_ok(i) for i in session.records if session.records[i].end)
    text = f"{session.lesson.title}: {done} of {len(session.lesson.steps)} steps done"
    if asked:
        text += (f"; {right} of {asked} predictions right (replay: raftviz lesson run "
                 f"{session.lesson.name} --headless --answers {session.answers_text()})")
    return text + "."
