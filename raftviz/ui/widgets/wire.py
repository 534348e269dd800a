"""The wire: every message held or in flight, oldest due first, ready to deliver or drop.

Enter (or a click) on a row delivers that message now; `x` drops it. Held messages say
■ held; messages in flight say when they land. A line above the list says what mode
the wire is in and how to change it. On a live cluster, where messages land too fast to
wait on the wire, the latest ones the nodes sent follow, newest first, dimmed, with the
second they were sent (✕ lost when the sender's gate dropped them): they are shown, not
held, so no key acts on them.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive

from engine.observe import ClusterView, MessageStatus, MessageView

from ..format import reports_internals
from ..messages import MessagePicked
from .bars import TextLine
from .rows import Column, RowGrid

TYPE_STYLES = {
    "MsgVote": "magenta", "MsgVoteResp": "magenta", "MsgPreVote": "magenta",
    "MsgPreVoteResp": "magenta", "MsgApp": "blue", "MsgAppResp": "blue",
    "MsgSnap": "yellow", "MsgProp": "green", "MsgReadIndex": "cyan",
    "MsgReadIndexResp": "cyan", "MsgTimeoutNow": "red", "MsgHeartbeat": "dim",
    "MsgHeartbeatResp": "dim",
}


def type_text(m: MessageView) -> Text:
    name = m.type.removeprefix("Msg")
    return Text(name + (" ✗" if m.reject else ""), style=TYPE_STYLES.get(m.type, ""))


def details(m: MessageView) -> str:
    """What the message says, in the fewest words: entries, position, commit."""
    parts = []
    if m.reject:
        parts.append(f"rejects {m.index}")
    elif m.type in ("MsgApp", "MsgSnap"):
        parts.append(m.entries or "no entries")
        parts.append(f"after {m.index} (t{m.log_term})")
    elif m.type == "MsgAppResp":
        parts.append(f"has up to {m.index}")
    elif m.type in ("MsgVote", "MsgPreVote"):
        parts.append(f"last log {m.index} (t{m.log_term})")
    elif m.type == "MsgProp":
        parts.append(m.entries or "proposal")
    if m.commit:
        parts.append(f"commit {m.commit}")
    parts += list(m.request_ids)
    if m.note:
        parts.append(m.note)
    return " · ".join(parts)


RECENT_SHOWN = 12      # live traffic listed under the waiting messages
TRAFFIC_EVERY_MS = 200  # ... renewed at most five times a second: faster is a blur to read,
                        # and under load it cost frames


def when(m: MessageView, now: int) -> Text:
    if m.status is MessageStatus.HELD:
        return Text("■ held", style="bold")
    if m.status is MessageStatus.SENT:
        return Text(f"{m.sent_at / 1000:.1f}s")
    if m.status is MessageStatus.DROPPED:
        return Text("✕ lost")
    if m.deliver_at is None:
        return Text("")
    return Text(f"→ {max(0, m.deliver_at - now)}ms")


ID_COLUMN = Column("id", "#", 8)
COLUMNS = (Column("when", "when", 6), Column("type", "message", 17),
           Column("term", "term", 4), Column("details", "details"))


class MessageTable(RowGrid):
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)
    followed: reactive[str | None] = reactive(None, repaint=False)
    heartbeats: reactive[bool] = reactive(True, repaint=False)   # among the traffic
    _traffic: tuple[MessageView, ...] = ()
    _traffic_at = 0                # the view's time when they were taken
    _drawn: tuple = ()             # what the rows were last made from

    def __init__(self, stacked: bool = False) -> None:
        super().__init__()
        # Beside the logs, where live traffic changes the rows with every report, details
        # are cut rather than scrolled to (a new width would lay the whole screen out
        # again), and the id column goes while every row is traffic, which has no id.
        self.stacked = self.LAST_FITS = stacked

    def on_mount(self) -> None:
        self.redraw()

    def watch_cluster(self) -> None:
        self.redraw()

    def watch_followed(self) -> None:
        self.redraw()

    def watch_heartbeats(self) -> None:
        self._traffic = ()       # taken again at once
        self.redraw()

    def redraw(self) -> None:
        view = self.cluster
        if view is None:
            return
        if not self._traffic or view.time - self._traffic_at >= TRAFFIC_EVERY_MS:
            self._traffic = recent_traffic(view, self.heartbeats)
            self._traffic_at = view.time
        rows = view.messages + self._traffic
        # Waiting messages' cells change with the time ("→ 12ms"); traffic's do not: a
        # live cluster's list changes only when its traffic is taken again.
        drawn = (rows, self.followed, view.time if view.messages else None)
        if drawn == self._drawn:
            return
        self._drawn = drawn
        ids = not (self.stacked and rows and all(m.watched for m in rows))
        self.set_columns((ID_COLUMN, *COLUMNS) if ids else COLUMNS)
        self.set_rows((str(m.id), self.row_cells(m, view.time, ids)) for m in rows)

    def row_cells(self, m: MessageView, now: int, ids: bool) -> list:
        followed = bool(self.followed and self.followed in m.request_ids)
        cells = [when(m, now), type_text(m) + f" {m.frm}→{m.to}", Text(str(m.term)),
                 Text(details(m))]
        if ids:
            cells.insert(0, Text("" if m.watched else f"#{m.id}",
                                 style="reverse" if followed else ""))
        if m.watched:
            for cell in cells:
                cell.stylize("dim")
        return cells

    def chosen(self) -> int | None:
        """The waiting message under the cursor, if it is on one (a watched message's
        key is its negative id)."""
        key = self.cursor_key
        return int(key) if key is not None and int(key) >= 0 else None

    def on_row_grid_selected(self, event: RowGrid.Selected) -> None:
        event.stop()
        if int(event.row_key) >= 0:
            self.post_message(MessagePicked(int(event.row_key)))


def recent_traffic(view: ClusterView, heartbeats: bool = True) -> tuple[MessageView, ...]:
    """What live nodes sent last, newest first."""
    sent = [m for m in view.history if m.watched and (heartbeats or not m.heartbeat)]
    return tuple(sorted(sent, key=lambda m: (m.sent_at, m.id), reverse=True)[:RECENT_SHOWN])


class MessageList(Vertical):
    """A mode line over the table of waiting messages."""
    DEFAULT_CLASSES = "view-part"
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)
    followed: reactive[str | None] = reactive(None, repaint=False)

    def __init__(self, *, id: str, stacked: bool = False) -> None:
        super().__init__(id=id)
        self.stacked = stacked

    def compose(self) -> ComposeResult:
        yield TextLine(classes="wire-mode")
        yield MessageTable(self.stacked)

    def watch_cluster(self, view: ClusterView | None) -> None:
        if view is None:
            return
        self.query_one(MessageTable).cluster = view
        self.query_one(".wire-mode", TextLine).show(self.mode_line(view))

    def watch_followed(self, followed: str | None) -> None:
        self.query_one(MessageTable).followed = followed

    def mode_line(self, view: ClusterView) -> Text:
        """What is waiting, then what the keys do with it: on a second line when the list
        is the narrow one beside the logs (`stacked`), where one line would be cut."""
        held = sum(1 for m in view.messages if m.status is MessageStatus.HELD)
        flying = len(view.messages) - held
        if not reports_internals(view):
            counts, keys = Text("no messages"), "etcd does not report them, nor hold them"
        elif view.network.hold:
            counts = Text(f"■ {held} held, {flying} in flight", style="bold")
            keys = "⏎ deliver · x drop · a all · h release"
        else:
            counts = Text(f"{flying} in flight")
            keys = "h holds messages to deliver one by one"
        if any(m.watched for m in view.history):
            counts.append(", then the latest sent", style="dim")
        return Text("\n" if self.stacked else " · ").join([counts, Text(keys, style="dim")])

    def chosen(self) -> int | None:
        return self.query_one(MessageTable).chosen()
