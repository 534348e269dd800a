"""The one-line bars: where the cluster stands (top), what just happened (bottom), the
keys (footer), and a text line for a panel's title or mode line, whose words may change on
every frame."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.containers import Vertical
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Footer

from engine.observe import ClusterView

from ..format import Part, seconds
from .kept_style import KeptStyle, text_segments


class TopBar(Widget):
    """`raftviz · sim seed 1 · t=3.400s · event 34/34 · ▶ 5/s · ‖ HOLD · ✕ 1↔2 · ★ 2 term 3`

    It repaints only when its words change: a repaint of the top line makes the screen's
    update span every line down to the next change, and a live cluster's views change
    on every frame. A live cluster's bar shows no clock: its views are made when the
    cluster changes, so their time stands still while it idles."""
    DEFAULT_CLASSES = "view-part"

    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)
    playing: reactive[bool] = reactive(False)
    speed: reactive[int] = reactive(5)

    def __init__(self) -> None:
        super().__init__()
        self._shown: list[Part] = []

    def watch_cluster(self, view: ClusterView | None) -> None:
        shown = self.parts(view, self.wide) if view else []
        if shown != self._shown:
            self._shown = shown
            self.refresh()

    @property
    def wide(self) -> bool:
        return self.size.width >= 100

    def render(self) -> Text:
        v = self.cluster
        text = Text(" raftviz ", style="bold reverse")
        if v is None:
            return text
        wide = self.wide
        for part, style in self.parts(v, wide):
            text.append("  " if wide else " ")
            text.append(part, style=style)
        return text

    def parts(self, v: ClusterView, wide: bool) -> list[Part]:
        parts = []
        if wide:
            parts.append((f"sim · seed {v.seed}" if v.clock == "manual" else "live", "dim"))
        if v.clock == "manual":     # simulated time; a live cluster runs on the wall clock
            parts.append((f"t={seconds(v.time)}", "bold"))
            parts.append((f"event {v.event}/{v.last_event}" if wide else
                          f"ev {v.event}/{v.last_event}", ""))
            if self.playing:
                parts.append((f"▶ {self.speed}/s" if not wide else
                               f"▶ playing {self.speed}/s", "bold"))
            else:
                parts.append(("‖ paused" if wide else "‖", "dim"))
        elif v.paused:
            parts.append(("‖ frozen", "bold"))
        if v.network.hold:
            held = sum(1 for m in v.messages if m.status.value == "held")
            parts.append((f"■ hold: {held} held" if wide else f"■{held}", "bold"))
        if v.network.cuts:
            cuts = len(v.network.cuts)
            parts.append((f"✕ {cuts} links cut" if wide else f"✕{cuts}", "bold"))
        if v.alarms:      # etcd refuses writes until someone disarms: say so up here
            kinds = ",".join(sorted({a.alarm for a in v.alarms}))
            parts.append((f"⚠ alarm {kinds}" if wide else f"⚠{kinds}", "bold reverse"))
        leader = v.leader()
        if leader is None:
            parts.append(("no leader", "bold"))
        else:
            parts.append((f"★ leader {leader.id} · term {leader.term}" if wide else
                          f"★{leader.id} term {leader.term}", ""))
        return parts


class Edge(Vertical):
    """The box a bar sits in at the screen's top or bottom edge. Textual draws
    every child of the screen whole whenever anything on the screen changes: a busy
    cluster's bars and footer were drawn on every frame, unchanged. In a box of its own
    (marked blank with the app's other filled containers, it costs one blank line), a bar
    is drawn when it changes."""
    DEFAULT_CSS = """
    Edge { height: auto; }
    Edge.-footer { dock: bottom; }
    Edge Footer { dock: none; }
    """


class ControlsFooter(Footer):
    """Textual's footer with the controls that work now first, those that do not after
    them, dimmed. In the order of CONTROLS, a live cluster's footer began with the
    simulator's Tick, Step, Undo, Faster and Slower, all dimmed, and the width cut its
    own Deliver all; when the world is frozen, Tick and Step move up."""

    def compose(self):
        keys = list(super().compose())
        controls = [k for k in keys if is_control(getattr(k, "action", ""))]
        controls.sort(key=lambda k: k.has_class("-disabled"))      # stable: kept in order
        yield from controls
        yield from (k for k in keys if k not in controls)


def is_control(action: object) -> bool:
    return isinstance(action, str) and action.startswith("control(")


class NoteBar(Widget):
    """The last explanation: what the last command did, in a sentence."""

    message: reactive[str] = reactive("", layout=True)
    error: reactive[bool] = reactive(False)

    def render(self) -> Text:
        symbol = "▲ " if self.error else "› "
        return Text(symbol + self.message, style="bold" if self.error else "")


class TextLine(KeptStyle, Widget):
    """A line of text (or a few, split where it says "\n"), drawn straight into strips and
    repainted only when its words change. A Static lays its text out afresh on every
    update, which on a busy cluster's keyspace title (its revision moves with every
    write) cost twice as much a frame."""
    DEFAULT_CSS = "TextLine { height: 1; }"

    def __init__(self, *, classes: str | None = None) -> None:
        super().__init__(classes=classes)
        self.text = Text()
        self._strips: list[Strip] | None = None

    def show(self, text: Text) -> None:
        if text != self.text or text.style != self.text.style:
            self.text, self._strips = text, None
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width, base = self.content_region.width, self.base_style()
        if self._strips is None or self._strips[0].cell_length != width:
            blank = Style.from_color(bgcolor=base.bgcolor)      # as a Static pads
            console = self.app.console
            self._strips = [
                Strip(text_segments(line, console, base)).crop_extend(0, width, blank)
                for line in self.text.split("\n")]
        return self._strips[y] if y < len(self._strips) else Strip.blank(width, base)

    def notify_style_update(self) -> None:
        self._strips = None
        super().notify_style_update()
