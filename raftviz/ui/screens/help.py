"""The help screen: every control with its key, grouped, and what the symbols mean; the
keys of the screen it was opened from first (a lesson's), when that screen has its own."""

from __future__ import annotations

from typing import Callable, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from ..actions import CONTROLS, TABS, key_text
from ..format import LEGEND

INTRO = ("raftviz shows a real Raft + MVCC cluster. On the simulator (--sim) time moves only "
         "when you say so: tick, step one event, or play; a live cluster runs by itself until "
         "you freeze it. Hold messages to deliver them one by one; break things and watch the "
         "cluster recover. Enter (or a click) on an entry in a log follows the request it "
         "carries on the Requests tab, whether the client box (/) or etcdctl sent it. Every "
         "control is also in the command palette (ctrl+p).")


HelpKeys = Sequence[tuple[str, str, str]]      # (keys, title, what they do)


def controls_table(available: Callable[[str], bool], screen_keys: HelpKeys = (),
                   screen_title: str = "") -> Table:
    # Titles wrap too, so a narrow terminal shares the width between title and help
    # instead of squeezing the help into a sliver beside the longest title.
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_column()
    if screen_keys:
        table.add_row(Text(screen_title, style="bold underline"), "", "")
        for keys, title, what in screen_keys:
            table.add_row(keys, title, what)
    group = None
    for c in CONTROLS:
        if c.group != group:
            group = c.group
            table.add_row(Text(group, style="bold underline"), "", "")
        usable = available(c.name)
        note = "" if usable else "  (not available with this cluster)"
        table.add_row(key_text(c), Text(c.title, style="" if usable else "dim"),
                      Text(c.help + note, style="" if usable else "dim"))
    table.add_row(Text("View tabs", style="bold underline"), "", "")
    for _, key, label in TABS:
        table.add_row(key, label, f"Show the {label.lower()} tab.")
    table.add_row("q", "Quit", "Leave raftviz.")
    return table


def legend_table() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="bold")
    table.add_column()
    for symbol, meaning in LEGEND:
        table.add_row(symbol, meaning)
    return table


class HelpScreen(ModalScreen):
    BINDINGS = [Binding("escape,q,question_mark,f1", "app.pop_screen", "Close")]

    def __init__(self, available: Callable[[str], bool], screen_keys: HelpKeys = (),
                 screen_title: str = "") -> None:
        super().__init__()
        self.available = available
        self.screen_keys, self.screen_title = screen_keys, screen_title

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="help"):
            yield Label("raftviz — help", classes="dialog-title")
            yield Static(INTRO, classes="dialog-explain")
            yield Static(controls_table(self.available, self.screen_keys,
                                        self.screen_title))
            yield Label("Symbols", classes="dialog-title")
            yield Static(legend_table())
            yield Static("Esc closes this screen.", classes="dialog-hint")
