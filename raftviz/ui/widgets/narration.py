"""The lesson's narration panel: what to look at, what the step will do, what happened.

It draws a `Panel` (plain data from raftviz.lesson_session) and never touches the
cluster: buttons post `LessonNav` or `LessonGuess` for the lesson screen to act on. Choice
buttons are rebuilt only when the question changes, so a click is never lost to a redraw;
a new question takes the focus, so a student answers with the arrows and Enter.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Markdown, Static

from raftviz.lesson_session import Panel

MARKS = {"do": ("›", ""), "said": (" ", "dim"), "failed": ("✗", "bold red"),
         "pass": ("✓", "green"), "fail": ("✗", "bold red")}


class LessonNav(Message):
    """next | back | restore | show"""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action = action


class LessonGuess(Message):
    def __init__(self, number: int) -> None:
        super().__init__()
        self.number = number


class Choice(Button):
    """One answer to a lesson's question: Enter (or a click) chooses it, the arrows move
    between the answers. Only Enter: space stays the app's play / pause."""

    BINDINGS = [Binding("up", "move(-1)", "Previous answer", show=False),
                Binding("down", "move(1)", "Next answer", show=False)]

    def action_move(self, delta: int) -> None:
        choices = list(self.parent.query(Choice)) if self.parent else [self]
        choices[(choices.index(self) + delta) % len(choices)].focus()


class NarrationPanel(Vertical):
    SCOPED_CSS = False      # the layout follows the screen's width class (-narrow, -wide)
    DEFAULT_CSS = """
    NarrationPanel {
        dock: right;
        width: 50;
        height: 100%;
        border-left: vkey $primary;
        background: $surface;
    }
    Screen.-narrow NarrationPanel {
        dock: bottom;
        width: 100%;
        height: 50%;            /* at 80x24 the views keep every node's row */
        max-height: 16;
        margin-bottom: 1;       /* docked widgets overlap: leave the footer its line */
        border-left: none;
        border-top: hkey $primary;
    }
    NarrationPanel #lesson-head { height: auto; padding: 0 1; background: $boost; }
    NarrationPanel #lesson-scroll { height: 1fr; padding: 0 1; }
    NarrationPanel Markdown { margin: 0; padding: 0; }
    NarrationPanel #lesson-ask, NarrationPanel #lesson-choices { height: auto; }
    NarrationPanel #lesson-choices Button { width: 100%; margin: 0; height: 3; }
    /* the answer with the focus is underlined, the chosen one reversed: both can show */
    NarrationPanel #lesson-choices Choice:focus { text-style: bold underline; }
    NarrationPanel #lesson-choices Choice.-chosen { text-style: bold reverse; }
    NarrationPanel #lesson-choices Choice.-chosen:focus { text-style: bold reverse underline; }
    NarrationPanel #lesson-status { height: auto; padding: 0 1; background: $boost; }
    NarrationPanel #lesson-status.-warn { color: $warning; text-style: bold; }
    NarrationPanel #lesson-buttons { height: 3; }
    NarrationPanel #lesson-buttons Button { min-width: 8; width: 1fr; }
    Screen.-narrow NarrationPanel #lesson-buttons { height: 1; }
    Screen.-narrow NarrationPanel #lesson-buttons Button { height: 1; border: none; }
    /* a question and its choices (a line each) kept in sight below the text, which
       scrolls: after it, at 3 lines a choice, they were past the panel's end at 80x40 */
    Screen.-narrow NarrationPanel #lesson-ask { dock: bottom; }
    Screen.-narrow NarrationPanel #lesson-choices Button { height: 1; border: none; }
    """

    panel: reactive[Panel | None] = reactive(None)

    def compose(self) -> ComposeResult:
        yield Static(id="lesson-head")
        with VerticalScroll(id="lesson-scroll"):
            yield Markdown(id="lesson-body")
            with Vertical(id="lesson-ask"):
                yield Static(id="lesson-question")
                yield Vertical(id="lesson-choices")
            yield Static(id="lesson-results")
        yield Static(id="lesson-status")
        with Horizontal(id="lesson-buttons"):
            yield Button("‹ Back", id="lesson-back")
            yield Button("Restore", id="lesson-restore")
            yield Button("Show me", id="lesson-show")
            yield Button("Next ›", id="lesson-next", variant="primary")

    def watch_panel(self, old: Panel | None, new: Panel | None) -> None:
        if new is None or not self.is_mounted:
            return
        self.query_one("#lesson-head", Static).update(_head(new))
        scroll = self.query_one("#lesson-scroll", VerticalScroll)
        if old is None or (old.body, old.heading) != (new.body, new.heading):
            self.query_one("#lesson-body", Markdown).update(new.body)
            scroll.scroll_home(animate=False)         # a new step is read from its start
        self.query_one("#lesson-question", Static).update(_question(new))
        self._choices(old, new)
        self.query_one("#lesson-results", Static).update(_results(new))
        if _outcome(new) > _outcome(old):
            # What the step did, and why: below the text, out of sight on a small screen.
            self.call_after_refresh(scroll.scroll_end, animate=False)
        status = self.query_one("#lesson-status", Static)
        status.update(new.status)
        status.set_class(new.warn, "-warn")
        self.query_one("#lesson-back", Button).disabled = not new.can_back
        self.query_one("#lesson-restore", Button).disabled = not new.can_restore
        self.query_one("#lesson-show", Button).display = new.can_show

    def _choices(self, old: Panel | None, new: Panel) -> None:
        box = self.query_one("#lesson-choices", Vertical)
        if old is None or (old.question, old.choices) != (new.question, new.choices):
            box.remove_children()
            choices = [Choice(f"{i}. {c}", id=f"lesson-choice-{i}")
                       for i, c in enumerate(new.choices, 1)]
            box.mount_all(choices)
            if choices and not new.answer:      # the question is the next thing to do
                chosen = min(max(new.guess, 1), len(choices))   # a replayed guess, or 1
                self.call_after_refresh(choices[chosen - 1].focus)
        for i in range(1, len(new.choices) + 1):
            for button in box.query(f"#lesson-choice-{i}").results(Choice):
                button.set_class(i == new.guess, "-chosen")
                button.disabled = bool(new.answer)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        name = event.button.id or ""
        event.stop()
        if name.startswith("lesson-choice-"):
            self.post_message(LessonGuess(int(name.rsplit("-", 1)[1])))
        elif name.startswith("lesson-"):
            self.post_message(LessonNav(name.removeprefix("lesson-")))


def _outcome(p: Panel | None) -> tuple[int, bool]:
    """How much of what a step did the panel tells."""
    return (len(p.results), bool(p.why)) if p is not None else (0, False)


def _head(p: Panel) -> Text:
    text = Text(p.title, style="bold")
    text.append(f"\n{p.position} · ", style="dim")
    text.append(p.heading, style="bold")
    return text


def _question(p: Panel) -> Text:
    if not p.question:
        return Text()
    text = Text("? ", style="bold")      # after the body's own blank line
    text.append(p.question, style="bold")
    if p.answer:
        verdict = "right!" if p.guess == p.answer else \
            "not this time" if p.guess else "no guess"
        text.append(f"\nAnswer: {p.choices[p.answer - 1]} ({verdict})", style="italic")
    return text


def _results(p: Panel) -> Text:
    text = Text()
    if p.actions and not p.results:
        text.append("\nThis step will do:\n", style="dim")
        for line in p.actions:
            text.append(f"  › {line}\n")
    for outcome in p.results:
        mark, style = MARKS[outcome.kind]
        detail = "" if outcome.detail in ("", outcome.text) else f" — {outcome.detail}"
        text.append(f"\n{mark} ", style=style)
        text.append(outcome.text + detail, style="dim" if outcome.kind == "said" else "")
    if p.why:
        text.append("\n\nWhy: ", style="bold")
        text.append(p.why)
    return text
