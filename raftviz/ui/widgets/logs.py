"""Every node's log side by side, one row per index, so agreement and divergence line up.

Each cell starts with a mark saying how far the entry got on that node (✓ applied,
● committed, ○ only appended, ◌ still waiting for fsync, ░ folded into a snapshot, ≠
different from the leader's entry, so it will be replaced), then the term in its colour,
then what the entry does. Choosing a cell that carries a client request follows it. A
real etcd tells each member's indexes but not its entries: one row, at the last index,
says so.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.reactive import reactive

from engine.observe import ClusterView, EntryView, LogView

from .. import format as fmt
from ..messages import FollowRequest
from ..pace import Flood, Pacer
from .rows import PAD, Column, RowGrid

SHOWN = 60
# A log flows when FLOOD_VIEWS views in a row that bring new entries each bring
# FLOOD_ROWS or more (at 30 views a second, 150 entries a second: more than anyone
# reads); it is then drawn FLOOD_HZ times a second, while the cards above it count every
# index as it comes.
FLOOD_ROWS, FLOOD_VIEWS, FLOOD_HZ = 5, 3, 10


def index_range(view: ClusterView) -> range:
    if not view.logs:
        return range(0)
    hi = max(lg.last_index for lg in view.logs)
    if not fmt.reports_internals(view):
        return range(hi, hi + 1)      # one row, to say so
    lo = min(min((lg.entries[0].index for lg in view.logs if lg.entries), default=hi),
             min(lg.snapshot_index + 1 for lg in view.logs))
    return range(max(1, lo, hi - SHOWN + 1), hi + 1)


class LeaderLog(NamedTuple):
    """What the leader's report says of its log: each index's term in its tail, where
    the log ends, and the leader's term."""
    terms: dict[int, int]
    last: int
    term: int


def leader_log(view: ClusterView) -> LeaderLog | None:
    leader = view.leader()
    log = view.log(leader.id) if leader else None
    if log is None:
        return None
    return LeaderLog({e.index: e.term for e in log.entries}, log.last_index, leader.term)


def diverged(e: EntryView, lead: LeaderLog) -> bool:
    """Whether an uncommitted entry will be replaced by the leader's. Beyond the end of
    the leader's log (members report at different times, so a follower's report can be
    the newer) the leader will only ever append entries of its own term: an entry of an
    older term there is replaced, one of its term came from it. Before the tail the
    leader reported, nothing is known."""
    if e.index in lead.terms:
        return lead.terms[e.index] != e.term
    return e.index > lead.last and e.term < lead.term


def mark(log: LogView, e: EntryView, lead: LeaderLog | None) -> str:
    if lead is not None and e.index > log.commit and diverged(e, lead):
        return fmt.MARK_DIVERGED
    if e.index > log.synced_index:
        return fmt.MARK_UNSYNCED
    if log.applied and e.index <= log.applied:
        return fmt.MARK_APPLIED
    if e.index <= log.commit:
        return fmt.MARK_COMMITTED
    return fmt.MARK_APPENDED


Look = tuple | None     # what one cell shows: a cell is made from its look alone
IN_SNAPSHOT: Look = ("in snapshot",)
NOT_REPORTED: Look = ("not reported",)


def look(log: LogView, index: int, entries: dict[int, EntryView], lead: LeaderLog | None,
         followed: str | None) -> Look:
    e = entries.get(index)
    if e is None:
        return IN_SNAPSHOT if index <= log.snapshot_index else None
    return (mark(log, e, lead), e.term, e.text, e.kind == "empty",
            followed is not None and e.request_id == followed)


DIM, REVERSE = Style(dim=True), Style(reverse=True)


@functools.lru_cache(maxsize=64)
def term_style(term: int) -> Style:
    return Style.parse(f"bold {fmt.term_style(term)}")


def fitted(text: str, width: int, style: Style, base: Style) -> list[Segment]:
    """The text in its style, cut with an ellipsis or padded (in the base style) to
    exactly `width` cells."""
    if cell_len(text) > width:
        return [Segment(set_cell_size(text, width - 1) + "…" if width else "", style)]
    return [Segment(text, style), Segment(" " * (width - cell_len(text)), base)]


class EntryHead(NamedTuple):
    """The start of an entry's cell: its mark, which changes as it is committed and
    applied."""
    lead: str


class EntryBody(NamedTuple):
    """The rest of an entry's cell: its term and what it does, the same on every node and
    whatever its mark."""
    term: int
    text: str
    empty: bool


def entry_body(body: EntryBody, width: int, base: Style) -> list[Segment]:
    """The term in its colour, then what the entry does, fitted to `width`."""
    number = f"{body.term:>2}"
    return [Segment(number, base + term_style(body.term)),
            *fitted(" " + body.text, max(0, width - len(number)),
                    base + DIM if body.empty else base, base)]


def cell_segments(cell: Cell, width: int, base: Style) -> list[Segment]:
    """One cell as segments, PAD blanks each side: at a thousand writes a second every
    row on screen is new in every frame, and building these directly costs a fraction
    of going through rich's Text. An entry's head is its mark with the blanks before it,
    its body the rest (`width` then counts from the end of the head)."""
    pad = Segment(" " * PAD, base)
    if isinstance(cell, EntryHead):
        return [Segment(" " * PAD + cell.lead, base)]
    if isinstance(cell, EntryBody):
        return list(Segment.simplify([*entry_body(cell, width, base), pad]))
    if isinstance(cell, IndexCell):
        body = fitted(cell.index, width, base + DIM, base)
    elif cell is None:
        body = [Segment(" " * width, base)]
    elif cell == IN_SNAPSHOT:
        body = fitted(f"{fmt.MARK_SNAPSHOT} in snapshot", width, base + DIM, base)
    elif cell == NOT_REPORTED:
        body = fitted("not reported by etcd", width, base + DIM, base)
    else:
        mark_, term, what, empty, followed = cell
        lead = mark_ + " "
        body = [Segment(lead, base),
                *entry_body(EntryBody(term, what, empty), width - cell_len(lead), base)]
        if followed:      # the followed request's entries stand out (the text, not the pad)
            body[:3] = Segment.apply_style(body[:3], post_style=REVERSE)
    # Neighbours in one style as one segment: every later step of a frame (the colour
    # filter, the compositor's cuts, the terminal's text) goes segment by segment.
    return list(Segment.simplify([pad, *body, pad]))


class IndexCell(NamedTuple):
    index: str


Cell = Look | IndexCell | EntryHead | EntryBody


def headers(view: ClusterView, width: int) -> list[Text]:
    """Each log's node over its commit and applied index. Long indexes in narrow columns:
    the words give way to the marks the cells carry, in every column alike."""
    titles, forms = [], []
    for log in view.logs:
        node = view.node(log.node)
        titles.append(fmt.node_title(node) if node else str(log.node))
        applied = log.applied if node and node.up else "—"
        forms.append((f"commit {log.commit} · applied {applied}",
                      f"commit {log.commit} · {fmt.MARK_APPLIED} {applied}",
                      f"{fmt.MARK_COMMITTED} {log.commit} · {fmt.MARK_APPLIED} {applied}"))
    fit = next((i for i in range(2) if all(len(f[i]) <= width for f in forms)), 2)
    return [Text(title, style="bold") + Text(f"\n{f[fit]}", style="dim")
            for title, f in zip(titles, forms)]


class LogGrid(RowGrid):
    DEFAULT_CLASSES = "view-part"
    POSTS_HIGHLIGHTED = False      # choosing a cell follows a request; moving to it does not
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)
    followed: reactive[str | None] = reactive(None, repaint=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor="cell", header_height=2, **kwargs)
        self.looks: dict[str, tuple[Look, ...]] = {}
        self.flood = Flood(FLOOD_ROWS, FLOOD_VIEWS)
        self.pacer = Pacer(self._paced_redraw, FLOOD_HZ)

    def watch_cluster(self, view: ClusterView | None) -> None:
        if view is not None:
            self.pacer.offer(self.flood.note(index_range(view).stop))

    def _paced_redraw(self) -> None:
        if self.is_attached:      # a drawing held back may fall due after the app quit
            self.redraw()

    def watch_followed(self) -> None:
        self.redraw()

    def on_resize(self) -> None:
        self.redraw()

    def watch_show_vertical_scrollbar(self) -> None:
        self.redraw()          # the columns share what the scrollbar leaves

    def redraw(self) -> None:
        view = self.cluster
        if view is None:
            return
        indexes = index_range(view)
        digits = max(4, len(str(indexes.stop - 1)))      # the last index, whole
        shown = self.scrollable_content_region.width     # beside the scrollbar, if any
        width = max(12, (shown - digits - 2) // max(1, len(view.logs)) - 2)
        self.set_columns([Column("index", Text("#", style="dim"), digits)] + [
            Column(str(lg.node), label, width)
            for lg, label in zip(view.logs, headers(view, width))])
        lead, reported = leader_log(view), fmt.reports_internals(view)
        entries = {lg.node: {e.index: e for e in lg.entries} for lg in view.logs}
        followed = self.followed
        self.looks = {str(index): tuple(look(lg, index, entries[lg.node], lead, followed)
                                        if reported else NOT_REPORTED for lg in view.logs)
                      for index in indexes}
        self.set_looks(self.looks.items(), self.cells_of, follow_tail=True)

    def cells_of(self, key: str) -> list[Look | IndexCell]:
        return [IndexCell(key), *self.looks[key]]

    def render_cell(self, cell, width: int, style: Style) -> list[Segment]:
        if isinstance(cell, (Text, str)):      # the header's labels
            return super().render_cell(cell, width, style)
        return cell_segments(cell, width, style)

    def draw_cell(self, cell, width: int, style: Style) -> list[Segment]:
        """An entry's cell as its head and body, each drawn once and remembered: as an
        entry is appended, committed and applied on each node only its mark changes, so
        its words are drawn once for every node and mark (a busy cluster brings dozens of
        entries a frame). A followed entry is reversed whole: drawn whole."""
        if type(cell) is not tuple or len(cell) != 5 or cell[4]:
            return super().draw_cell(cell, width, style)
        mark_, term, text, empty, _ = cell
        lead = mark_ + " "
        return (super().draw_cell(EntryHead(lead), width, style)
                + super().draw_cell(EntryBody(term, text, empty), width - cell_len(lead),
                                    style))

    def on_row_grid_selected(self, event: RowGrid.Selected) -> None:
        view = self.cluster
        if view is None or event.column_key == "index":
            return
        log = view.log(int(event.column_key))
        index = int(event.row_key)
        entry = next((e for e in log.entries if e.index == index), None) if log else None
        if entry is not None and entry.request_id:
            self.post_message(FollowRequest(entry.request_id))
