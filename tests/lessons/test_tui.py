"""The lesson inside the TUI, driven with Textual's Pilot: the narration panel beside the
app's live views, a lesson played end to end with keys and clicks, a student wandering off
between steps and the lesson bringing the cluster back.

Textual runs on asyncio, so each test runs its own loop with `asyncio.run`; these tests
stay apart from any pytest-trio tests.
"""

from __future__ import annotations

import asyncio
import io
from typing import Awaitable, Callable

from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Button, Markdown, Static

from raftviz.lesson_session import LessonSession, Phase
from raftviz.lessons import LESSONS_DIR, load
from raftviz.ui.app import RaftvizApp
from raftviz.ui.screens.help import HelpScreen, controls_table
from raftviz.ui.screens.lesson import LessonApp, LessonScreen, summary
from raftviz.ui.widgets.bars import NoteBar, TopBar
from raftviz.ui.widgets.narration import NarrationPanel
from raftviz.ui.widgets.nodes import NodeCards, NodeTable

Scenario = Callable[[LessonApp, Pilot], Awaitable[None]]


def drive(lesson_file: str, scenario: Scenario, size=(160, 48),
          answers: tuple[str, ...] = ()) -> LessonSession:
    session = LessonSession(load(LESSONS_DIR / lesson_file), answers=answers)
    app = LessonApp(session)

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())
    return session


async def next_step(app: LessonApp, pilot: Pilot) -> None:
    """Press `.` and let the step play out, frame by frame."""
    await pilot.press("full_stop")
    for _ in range(400):
        if app.lesson_session.phase is not Phase.RUNNING:
            break
        await pilot.pause(0.01)
    await pilot.pause()


def text(app: LessonApp, selector: str) -> str:
    return str(app.query_one(selector, Static).render())


def test_a_lesson_end_to_end_in_the_tui():
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        assert isinstance(app, RaftvizApp) and isinstance(app.screen, LessonScreen)
        assert app.screen.query_one(NarrationPanel) and app.query_one(TopBar)
        assert "Leader election and terms" in text(app, "#lesson-head")
        session, last = app.lesson_session, len(app.lesson_session.lesson.steps) - 1
        for _ in range(4 * last):
            await next_step(app, pilot)
            if session.phase is Phase.READY and session.step.predict is not None:
                await pilot.click("#lesson-choice-2")
                assert app.query_one("#lesson-choice-2", Button).has_class("-chosen")
            if session.phase is Phase.DONE and session.index == last:
                break
        assert session.phase is Phase.DONE and session.index == last
        assert "✓ term on all nodes is 1" in text(app, "#lesson-results")
        await pilot.pause(0.1)          # the app repaints its views 30 times a second
        assert "Time moved 50 ticks" in app.query_one(NoteBar).message
        assert app.query_one(TopBar).cluster.leader().id == 1
        await next_step(app, pilot)
        assert session.phase is Phase.FINISHED
        assert "predictions right: 2 of 2" in app.query_one("#lesson-body", Markdown).source

    session = drive("02-leader-election.lesson", scenario)
    assert all(session.step_ok(i) for i in range(len(session.lesson.steps)))
    assert summary(session).endswith("--headless --answers 2,2).")


def test_acting_between_steps_and_restoring():
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        session = app.lesson_session
        await next_step(app, pilot)               # introduction -> step 1
        await next_step(app, pilot)               # run step 1: a leader, a key
        end = session.player.view().event
        await pilot.press("t", "t", "t")          # the student ticks on their own
        await next_step(app, pilot)               # step 2 notices
        assert "You changed the cluster" in text(app, "#lesson-status")
        await pilot.press("o")
        assert session.player.view().event == end
        assert "back where the lesson left it" in text(app, "#lesson-status")
        await next_step(app, pilot)
        assert session.phase is Phase.DONE and session.step_ok(1)
        await pilot.press("comma")                # back: replay step 2
        assert session.phase is Phase.READY and session.player.view().event == end

    drive("04-follower-crash.lesson", scenario)


def test_your_turn_in_the_tui():
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        session = app.lesson_session
        session.records.clear()
        while session.phase is not Phase.WAITING:
            await next_step(app, pilot)
        assert app.query_one("#lesson-show", Button).display
        await pilot.press("c")                    # the crash dialog: pick node 2
        await pilot.pause()
        await pilot.press("2", "enter")
        for _ in range(100):
            await pilot.pause(0.01)
            if session.phase is Phase.DONE:
                break
        assert session.phase is Phase.DONE and not session.player.view().node(2).up

    drive("04-follower-crash.lesson", scenario)


def test_narrow_terminals_put_the_panel_below():
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        panel = app.screen.query_one(NarrationPanel)
        assert app.screen.has_class("-narrow")
        assert panel.region.width == 100 and panel.region.y > 10

    drive("01-keys-values.lesson", scenario, size=(100, 40))


def test_beside_the_panel_the_views_take_the_narrow_layout_until_they_have_120_columns():
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        panel = app.screen.query_one(NarrationPanel)
        assert panel.region.width == 50 and panel.region.x == 90
        assert app.screen.query_one(NodeCards).display is False
        assert app.screen.query_one("#wire-side").display is False
        assert app.screen.query_one(NodeTable).display is True
        await pilot.resize_terminal(170, 48)
        await pilot.pause()
        assert panel.region.x == 120 and not app.screen.has_class("-beside")
        assert app.screen.query_one(NodeCards).display is True
        assert app.screen.query_one("#wire-side").display is True

    drive("01-keys-values.lesson", scenario, size=(140, 40))


def test_at_80x24_the_panel_leaves_the_views_every_node_and_some_log():
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        panel = app.screen.query_one(NarrationPanel)
        table = app.screen.query_one(NodeTable)
        logs = app.screen.query_one("#logs")
        assert panel.region.height >= 10         # room for its text and buttons
        assert table.region.bottom <= logs.region.y < logs.region.bottom <= panel.region.y
        assert table.region.height >= 4          # its header and a row per node

    drive("01-keys-values.lesson", scenario, size=(80, 24))


def test_in_the_narrow_layout_the_question_and_its_choices_stay_in_sight():
    """At 80x24 the question and its choices (a line each) stay below the step's text,
    which scrolls; what the step did is scrolled to once it runs, and the next step is
    read from its start. As bordered buttons after the text, the choices were past the
    panel's end even at 80x40."""
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        panel = app.screen.query_one(NarrationPanel)
        while not panel.panel.choices:
            await next_step(app, pilot)
        await pilot.pause()
        question = app.screen.query_one("#lesson-question", Static)
        choices = list(app.screen.query("#lesson-choices Button").results(Button))
        scroll = app.screen.query_one("#lesson-scroll")
        assert len(choices) == len(panel.panel.choices) >= 2
        assert [b.region.height for b in choices] == [1] * len(choices)
        assert scroll.region.y < question.region.y < question.region.bottom \
            == choices[0].region.y
        assert choices[-1].region.bottom <= scroll.region.bottom, "seen without scrolling"
        await pilot.click("#lesson-choice-2")
        await next_step(app, pilot)
        await pilot.pause()
        assert panel.panel.results and scroll.scroll_y == scroll.max_scroll_y > 0
        await next_step(app, pilot)
        await pilot.pause()
        assert scroll.scroll_y == 0

    drive("14-watches.lesson", scenario, size=(80, 24))


def test_a_question_is_answered_with_the_arrows_and_enter():
    """A new question takes the focus: the arrows move between its answers (wrapping),
    Enter chooses one, and the keys around it keep their meaning (. runs the step);
    PgUp and PgDn scroll the step's text, a few lines at 80x24."""
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        panel = app.screen.query_one(NarrationPanel)
        while not panel.panel.choices:
            await next_step(app, pilot)
        await pilot.pause()
        choices = list(app.screen.query("#lesson-choices Button").results(Button))
        assert app.focused is choices[0]
        await pilot.press("up")
        assert app.focused is choices[-1]
        await pilot.press("down", "down")
        assert app.focused is choices[1]
        await pilot.press("enter")
        await pilot.pause()
        assert app.lesson_session.guesses[app.lesson_session.index] == 2
        assert choices[1].has_class("-chosen") and not choices[0].has_class("-chosen")
        await next_step(app, pilot)
        assert panel.panel.results and app.focused is None   # the answers are closed
        scroll = app.screen.query_one("#lesson-scroll")
        scroll.scroll_home(animate=False, immediate=True)
        await pilot.press("pagedown")                        # a long step, read by keys
        assert scroll.scroll_y > 0
        await pilot.press("pageup")
        assert scroll.scroll_y == 0

    drive("14-watches.lesson", scenario, size=(80, 24))


def test_a_question_answered_beforehand_has_the_focus_on_that_answer():
    """Replayed with --answers, a question opens on the answer given, not the first."""
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        panel = app.screen.query_one(NarrationPanel)
        while not panel.panel.choices:
            await next_step(app, pilot)
        await pilot.pause()
        assert app.focused is app.screen.query_one("#lesson-choice-2", Button)

    drive("14-watches.lesson", scenario, size=(80, 24), answers=("2",))


def test_help_in_a_lesson_starts_with_the_lessons_own_keys():
    async def scenario(app: LessonApp, pilot: Pilot) -> None:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        console = Console(width=120, record=True, file=io.StringIO())
        console.print(controls_table(app.screen.available, app.screen.screen_keys,
                                     app.screen.screen_title))
        text = console.export_text()
        assert text.index("In a lesson") < text.index("PgUp PgDn") < text.index("Time")
        assert "Restore" in text and "↑ ↓ Enter" in text

    drive("01-keys-values.lesson", scenario)
