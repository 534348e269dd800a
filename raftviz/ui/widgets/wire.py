"""The wire: every message held or in flight, oldest due first, ready to deliver or drop.

Enter (or a click) on a row delivers that message now; `x` drops it. Held messages say
■ held; messages in flight say when they land. A line above the list says what mode
the wire is in and how to change it.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive

from engine.observe import ClusterView, MessageStatus, MessageView

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


def when(m: MessageView, now: int) -> Text:
    if m.status is MessageStatus.HELD:
        return Text("■ held", style="bold")
    if m.deliver_at is None:
        return Text("")
    return Text(f"→ {max(0, m.deliver_at - now)}ms")


class MessageTable(RowGrid):
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)
    followed: reactive[str | None] = reactive(None, repaint=False)

    def on_mount(self) -> None:
        self.set_columns([Column("id", "#", 8), Column("when", "lands", 7),
                          Column("type", "message", 17), Column("term", "term", 4),
                          Column("details", "details")])
        self.redraw()

    def watch_cluster(self) -> None:
        self.redraw()

    def watch_followed(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        view = self.cluster
        if view is None:
            return
        self.set_rows((str(m.id), [
            Text(f"#{m.id}", style="reverse" if self.followed and self.followed in m.request_ids
                 else ""),
            when(m, view.time), type_text(m) + f" {m.frm}→{m.to}", str(m.term), details(m)])
            for m in view.messages)

    def chosen(self) -> int | None:
        key = self.cursor_key
        return int(key) if key is not None else None

    def on_row_grid_selected(self, event: RowGrid.Selected) -> None:
        event.stop()
        self.post_message(MessagePicked(int(event.row_key)))


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
        yield MessageTable()

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
        if view.network.hold:
            counts = Text(f"■ {held} held, {flying} in flight", style="bold")
            keys = "⏎ deliver · x drop · a all · h release"
        else:
            counts = Text(f"{flying} in flight")
            keys = "h holds messages to deliver one by one"
        return Text("\n" if self.stacked else " · ").join([counts, Text(keys, style="dim")])

    def chosen(self) -> int | None:
        return self.query_one(MessageTable).chosen()
