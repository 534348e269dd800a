"""Small dialogs that ask one question: which node, which links, which numbers.

Every dialog works from the keyboard alone (digits pick nodes, Enter confirms, Escape
cancels) and with the mouse. They return plain values; `Controls` turns them into commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Static


@dataclass(frozen=True, slots=True)
class Choice:
    node: int
    label: str
    enabled: bool = True


class Dialog(ModalScreen):
    """Escape cancels any dialog."""
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class Options(OptionList):
    """A short list of choices; the highlighted one is the choice, and it is marked ▸
    as well as highlighted, so the choice never depends on colour."""

    def __init__(self, labels: list[str], **kwargs) -> None:
        self.labels = labels
        super().__init__(*self.marked(labels, 0), **kwargs)

    @staticmethod
    def marked(labels: list[str], chosen: int | None) -> list[str]:
        return [("▸ " if n == chosen else "  ") + label for n, label in enumerate(labels)]

    def on_mount(self) -> None:
        self.highlighted = 0

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        if self.option_count == len(self.labels):
            for n, text in enumerate(self.marked(self.labels, highlighted)):
                self.replace_option_prompt_at_index(n, text)

    @property
    def choice(self) -> int:
        return self.highlighted or 0


class NodePicker(Dialog):
    """Pick one node (and, if offered, an option such as the crash mode)."""

    def __init__(self, title: str, explain: str, choices: list[Choice],
                 options: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.title_text, self.explain = title, explain
        self.choices, self.options = choices, options or []

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.explain, classes="dialog-explain")
            if self.options:
                yield Options([label for _, label in self.options], id="options")
            with Horizontal(classes="dialog-nodes"):
                for c in self.choices:
                    yield Button(f"{c.node}  {c.label}", id=f"node-{c.node}",
                                 disabled=not c.enabled, compact=True)
            yield Static("Press a node's number, or click it · Esc cancels",
                         classes="dialog-hint")

    def on_mount(self) -> None:
        first = next((c for c in self.choices if c.enabled), None)
        if self.options:
            self.query_one(Options).focus()
        elif first is not None:
            self.query_one(f"#node-{first.node}", Button).focus()

    def option(self) -> str | None:
        if not self.options:
            return None
        return self.options[self.query_one(Options).choice][0]

    def pick(self, node: int) -> None:
        if any(c.node == node and c.enabled for c in self.choices):
            self.dismiss((node, self.option()))

    def on_key(self, event: Key) -> None:
        if event.character and event.character.isdigit():
            event.stop()
            self.pick(int(event.character))

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.pick(int(event.button.id.removeprefix("node-")))


class TickBox(Checkbox):
    """A checkbox that says ticked with a mark, not only a colour (Textual draws the same
    X either way): unticked is blank, so NO_COLOR and a washed-out projector read it."""

    @property
    def BUTTON_INNER(self) -> str:  # noqa: N802 - Textual's name for the mark
        return "X" if self.value else " "


class PartitionDialog(Dialog):
    """Choose a group of nodes and how it is cut off from the others."""

    DIRECTIONS = [("both", "cut both ways (a partition)"),
                  ("out", "the group cannot send to the others (one-way)"),
                  ("in", "the others cannot send to the group (one-way)")]

    def __init__(self, nodes: list[int]) -> None:
        super().__init__()
        self.nodes = nodes
        self.labels = [label for _, label in self.DIRECTIONS]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Partition", classes="dialog-title")
            yield Static("Tick the nodes of one side (digits toggle them). Messages "
                         "across the cut are lost until you heal.", classes="dialog-explain")
            with Horizontal(classes="dialog-nodes"):
                for node in self.nodes:
                    yield TickBox(f"node {node}", id=f"side-{node}", compact=True)
            yield Options([label for _, label in self.DIRECTIONS], id="direction")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Cut", id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def side(self) -> list[int]:
        return [n for n in self.nodes if self.query_one(f"#side-{n}", Checkbox).value]

    def on_key(self, event: Key) -> None:
        if event.character and event.character.isdigit():
            box = self.query(f"#side-{event.character}")
            if box:
                event.stop()
                box.first(Checkbox).toggle()
        elif event.key == "enter" and not isinstance(self.focused, Button):
            event.stop()
            self.confirm()

    def confirm(self) -> None:
        group = self.side()
        rest = [n for n in self.nodes if n not in group]
        if not group or not rest:
            self.notify("Tick at least one node, but not all of them.", severity="warning")
            return
        direction = self.DIRECTIONS[self.query_one(Options).choice][0]
        links = set()
        if direction in ("both", "out"):
            links |= {(a, b) for a in group for b in rest}
        if direction in ("both", "in"):
            links |= {(b, a) for a in group for b in rest}
        self.dismiss(tuple(sorted(links)))

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    value: str
    kind: type = int            # int, float or str


class FormDialog(Dialog):
    """A few labelled inputs, their values converted to their kind and handed to `submit`.
    What `submit` returns is a refusal: the form stays open and says it, so nothing typed
    is lost; None closes it."""

    def __init__(self, title: str, explain: str, fields: list[Field], ok: str,
                 submit: Callable[[dict[str, object]], str | None]) -> None:
        super().__init__()
        self.title_text, self.explain, self.fields, self.ok = title, explain, fields, ok
        self.submit = submit

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Static(self.explain, classes="dialog-explain")
            for f in self.fields:
                with Horizontal(classes="dialog-field"):
                    yield Label(f.label, classes="field-label")
                    yield Input(f.value, id=f"field-{f.name}", compact=True,
                                type="text" if f.kind is str else "number")
            yield Static(classes="dialog-refusal")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.ok, id="ok", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    def refuse(self, text: str) -> None:
        refusal = self.query_one(".dialog-refusal", Static)
        refusal.update(f"✗ {text}")
        refusal.display = True

    def values(self) -> dict[str, object] | None:
        result = {}
        for f in self.fields:
            text = self.query_one(f"#field-{f.name}", Input).value.strip()
            try:
                result[f.name] = f.kind(text)
            except ValueError:
                kind = {int: "a whole number", float: "a number"}.get(f.kind, f.kind.__name__)
                self.refuse(f"{f.label}: {text!r} is not {kind}.")
                return None
        return result

    def confirm(self) -> None:
        values = self.values()
        if values is None:
            return
        refusal = self.submit(values)
        if refusal is None:
            self.dismiss(None)
        else:
            self.refuse(refusal)

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.confirm()

    @on(Button.Pressed, "#ok")
    def _ok(self) -> None:
        self.confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class CommandMenu(Dialog):
    """A list of finished sentences ("Crash node 2 (wipe)"); returns the chosen index."""

    def __init__(self, title: str, entries: list[str]) -> None:
        super().__init__()
        self.title_text, self.entries = title, entries

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title")
            yield Options(self.entries, id="menu")
            yield Static("↑↓ choose · Enter or click runs it · Esc cancels",
                         classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(Options).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_index)
