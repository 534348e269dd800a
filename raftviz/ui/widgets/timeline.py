"""The timeline: one lane per node, time running down, each message an arrow between lanes.

Like a sequence diagram: a row per message, drawn from its sender's lane (●) to its
receiver's (▶ or ◀). A dropped message ends in ✕ before it reaches its lane, a held one
is dotted and ends in ▷, one still in flight is dashed. Rows of the followed request are
highlighted. The panel scrolls back through the recent history and sticks to the newest
row unless you scrolled away. On a live cluster the rows are what the nodes reported
sending; when they sent more than their reports carried, the heading says how many it
left out.
"""

from __future__ import annotations

import functools

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from engine.observe import ClusterView, MessageStatus, MessageView, RequestTrace

from ..format import Part, node_title, reports_internals
from .kept_style import KeptStyle
from .rows import repaint_changed
from .wire import TYPE_STYLES

TIME_WIDTH = 8
LABEL_MIN = 28
DIM, REVERSE = Style(dim=True), Style(reverse=True)     # every row; the followed request's


def lane_positions(ids: list[int], width: int) -> dict[int, int]:
    n = max(1, len(ids))
    room = min(width * 45 // 100, width - TIME_WIDTH - LABEL_MIN)
    gap = max(4, min(20, room // n))
    return {node: gap // 2 + i * gap for i, node in enumerate(ids)}


def arrow(m: MessageView, pos: dict[int, int], span: int) -> tuple[list[str], tuple[int, int]]:
    """The lane characters of one message row, and the x range the arrow covers."""
    chars = [" "] * span
    for x in pos.values():
        chars[x] = "│"
    a, b = pos.get(m.frm), pos.get(m.to)
    if a is None or b is None:
        return chars, (0, 0)
    step = 1 if b > a else -1
    line = {MessageStatus.HELD: "┈", MessageStatus.IN_FLIGHT: "╌"}.get(m.status, "─")
    for x in range(a + step, b, step):
        chars[x] = line
    chars[a] = "●"
    if m.status is MessageStatus.DROPPED:
        chars[b - step] = "✕"
    elif m.status is MessageStatus.HELD:
        chars[b] = "▷" if step > 0 else "◁"
    else:
        chars[b] = "▶" if step > 0 else "◀"
    return chars, (min(a, b), max(a, b) + 1)


def on_path(m: MessageView, trace: RequestTrace | None) -> bool:
    """Does this message carry the followed request, or acknowledge its entry?"""
    if trace is None:
        return False
    if trace.id in m.request_ids:
        return True
    done = max((t.time for t in trace.committed), default=None)
    return bool(m.type == "MsgAppResp" and not m.reject and trace.index
                and m.index >= trace.index and m.sent_at >= trace.proposed_at
                and (done is None or m.sent_at <= done))


def row(m: MessageView, pos: dict[int, int], span: int) -> list[Part]:
    """One message's row as (text, style) parts: when it was sent, the lanes, its arrow
    and what it says."""
    chars, (lo, hi) = arrow(m, pos, span)
    style = TYPE_STYLES.get(m.type, "")
    label = " " if m.watched else f" #{m.id} "     # live traffic is seen, never held: no id
    label += f"{m.type.removeprefix('Msg')} t{m.term}"
    if m.entries:
        label += f" {m.entries}"
    if m.status is MessageStatus.DROPPED:
        label += f" ✕ {m.note or 'dropped'}"
    elif m.status is MessageStatus.HELD:
        label += " ■ held"
    return [(f"{m.sent_at / 1000:>7.3f} ", ""), ("".join(chars[:lo]), ""),
            ("".join(chars[lo:hi]), style), ("".join(chars[hi:]), ""), (label, style)]


@functools.lru_cache(maxsize=64)
def part_style(name: str, base: Style, highlight: bool) -> Style:
    """A row is dim throughout; its type's colour marks the arrow and the words."""
    return base + DIM + Style.parse(name) + (REVERSE if highlight else Style())


def row_segments(parts: list[Part], base: Style, highlight: bool) -> list[Segment]:
    """The parts drawn straight as segments: under load every row on screen is new each
    frame, and building them through rich's Text cost twice as much."""
    return [Segment(text, part_style(name, base, highlight)) for text, name in parts if text]


EMPTY_SIM = "No messages yet. Tick (t) or step (s) and they appear here."
EMPTY_LIVE = "No messages yet: they appear here as the nodes send them."
EMPTY_ETCD = "etcd does not report the messages its members send to each other."


def empty_text(view: ClusterView) -> str:
    if view.clock != "live":
        return EMPTY_SIM
    return EMPTY_LIVE if reports_internals(view) else EMPTY_ETCD


def timeline_rows(view: ClusterView, heartbeats: bool = True) -> list[MessageView]:
    rows = view.history + view.messages
    if not heartbeats:
        rows = tuple(m for m in rows if not m.heartbeat)
    return sorted(rows, key=lambda m: (m.sent_at, m.id))


class TimelineBody(KeptStyle, ScrollView):
    """The rows, drawn a line at a time: only those on screen, each drawn once for as long
    as it looks the same. Drawn whole as one text, the 260 rows a busy cluster keeps were
    laid out again for every view, and the Messages tab fell to 5 frames a second."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[MessageView, bool]] = []   # each message, and is it followed
        self.empty = ""                                   # what a timeline without rows says
        self.lanes: dict[int, int] = {}                   # node -> its lane's x
        self._strips: dict[tuple[MessageView, bool], Strip] = {}
        self._drawn_at = (-1, {})                         # (width, lanes) the strips fit

    def show(self, view: ClusterView | None, followed: str | None, heartbeats: bool,
             lanes: dict[int, int]) -> None:
        """The view's messages, in lanes at these x (the heading's, above)."""
        before, drawn_at = self._visible(), self._drawn_at
        self.rows, self.empty, self.lanes = [], "", lanes
        if view is not None and view.nodes:
            trace = view.request(followed) if followed else None
            self.rows = [(m, on_path(m, trace)) for m in timeline_rows(view, heartbeats)]
            self.empty = "" if self.rows else empty_text(view)
        shown = set(self.rows)
        self._strips = {look: s for look, s in self._strips.items() if look in shown}
        self.virtual_size = Size(self._width(), max(1, len(self.rows)))
        if drawn_at != (self._width(), lanes):
            self.refresh()
            return
        repaint_changed(self, before, self._visible(), self.scroll_offset.y)

    def plain(self) -> str:
        """Every row as it reads (or what an empty timeline says), a line each."""
        if not self.rows:
            return self.empty
        return "\n".join("".join(text for text, _ in self._parts(look)) for look in self.rows)

    def render_line(self, y: int) -> Strip:
        width, base = self._width(), self.base_style()
        if self._drawn_at != (width, self.lanes):
            self._strips, self._drawn_at = {}, (width, self.lanes)
        i = self.scroll_offset.y + y
        if i >= len(self.rows):
            if i == 0 and self.empty:
                return Strip([Segment(self.empty, base + DIM)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        look = self.rows[i]
        strip = self._strips.get(look)
        if strip is None:
            segments = row_segments(self._parts(look), base, highlight=look[1])
            strip = self._strips[look] = Strip(segments).crop_extend(0, width, base)
        return strip

    def notify_style_update(self) -> None:
        self._strips.clear()
        super().notify_style_update()

    def _parts(self, look: tuple[MessageView, bool]) -> list[Part]:
        return row(look[0], self.lanes, max(self.lanes.values()) + 2)

    def _width(self) -> int:
        return self.scrollable_content_region.width

    def _visible(self) -> list[tuple[MessageView, bool] | None]:
        top = self.scroll_offset.y
        return [self.rows[i] if i < len(self.rows) else None
                for i in range(top, top + self.scrollable_content_region.height)]


class Timeline(Widget):
    """Lane headings over a scrolling body that sticks to the newest row."""
    DEFAULT_CLASSES = "view-part"
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)
    followed: reactive[str | None] = reactive(None, repaint=False)
    heartbeats: reactive[bool] = reactive(True, repaint=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sticky = True

    def compose(self) -> ComposeResult:
        yield LaneHeader()
        yield TimelineBody()

    def on_mount(self) -> None:
        if self.cluster is not None:
            self.watch_cluster(self.cluster)   # a view set before the parts were composed

    def watch_cluster(self, view: ClusterView | None) -> None:
        bodies = self.query(TimelineBody)
        if not bodies:
            return   # not composed yet: on_mount catches up
        body = bodies.first()
        if body.size.height:
            self.sticky = body.scroll_y >= body.max_scroll_y - 1
        self.query_one(LaneHeader).cluster = view
        self._show()

    def _show(self) -> None:
        if not self.query(TimelineBody):
            return   # not composed yet: on_mount catches up
        view = self.cluster
        lanes = lane_positions([n.id for n in view.nodes], self.size.width or 80) \
            if view is not None and view.nodes else {}
        self.query_one(TimelineBody).show(view, self.followed, self.heartbeats, lanes)
        self.stick()

    def stick(self) -> None:
        if self.sticky:
            self.call_after_refresh(self.query_one(TimelineBody).scroll_end, animate=False)

    def on_show(self) -> None:
        self.stick()

    def on_resize(self) -> None:
        self._show()

    def watch_followed(self) -> None:
        self._show()

    def watch_heartbeats(self) -> None:
        self._show()


class LaneHeader(Widget):
    """The lanes' node names over the body; drawn again only when they change, not for
    every view (a heading drawn each frame cost as much as the rows that did change)."""
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)

    def __init__(self) -> None:
        super().__init__()
        self.heading = Text("")

    def watch_cluster(self) -> None:
        self._update()

    def on_resize(self) -> None:
        self._update()

    def _update(self) -> None:
        heading = lane_heading(self.cluster, self.size.width or 80)
        if heading != self.heading:       # rich compares the words and their styles
            self.heading = heading
            self.refresh()

    def render(self) -> Text:
        return self.heading


def lane_heading(view: ClusterView | None, width: int) -> Text:
    if view is None:
        return Text("")
    pos = lane_positions([n.id for n in view.nodes], width)
    chars = [" "] * (max(pos.values(), default=0) + 12)
    for n in view.nodes:
        label = node_title(n).split(" ", 2)
        tag = f"{label[0]}{label[1]}"
        start = max(0, pos[n.id] - len(tag) // 2)
        chars[start:start + len(tag)] = tag
    text = Text(" " * TIME_WIDTH + "".join(chars).rstrip() + "   (time ↓, newest last)",
                style="bold")
    if view.unshown_messages:
        text.append(f" · a sample: {view.unshown_messages:,} others not shown", style="dim")
    return text
