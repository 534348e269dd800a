"""Every node's log side by side, one row per index, so agreement and divergence line up.

Each cell starts with a mark saying how far the entry got on that node (✓ applied,
● committed, ○ only appended, ◌ still waiting for fsync, ░ folded into a snapshot, ≠
different from the leader's entry, so it will be replaced), then the term in its colour,
then what the entry does. Choosing a cell that carries a client request follows it.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import DataTable

from engine.observe import ClusterView, EntryView, LogView

from .. import format as fmt
from ..messages import FollowRequest

SHOWN = 60


def index_range(view: ClusterView) -> range:
    if not view.logs:
        return range(0)
    hi = max(lg.last_index for lg in view.logs)
    lo = min(min((lg.entries[0].index for lg in view.logs if lg.entries), default=hi),
             min(lg.snapshot_index + 1 for lg in view.logs))
    return range(max(1, lo, hi - SHOWN + 1), hi + 1)


def leader_terms(view: ClusterView) -> dict[int, int]:
    leader = view.leader()
    log = view.log(leader.id) if leader else None
    return {e.index: e.term for e in log.entries} if log else {}


def mark(log: LogView, e: EntryView, lead: dict[int, int]) -> str:
    if lead and e.index > log.commit and lead.get(e.index) != e.term:
        return fmt.MARK_DIVERGED
    if e.index > log.synced_index:
        return fmt.MARK_UNSYNCED
    if log.applied and e.index <= log.applied:
        return fmt.MARK_APPLIED
    if e.index <= log.commit:
        return fmt.MARK_COMMITTED
    return fmt.MARK_APPENDED


def cell(log: LogView, index: int, entries: dict[int, EntryView], lead: dict[int, int],
         followed: str | None) -> Text:
    e = entries.get(index)
    if e is None:
        if index <= log.snapshot_index:
            return Text(f"{fmt.MARK_SNAPSHOT} in snapshot", style="dim")
        return Text("")
    text = Text(mark(log, e, lead) + " ")
    text.append(f"{e.term:>2}", style=f"bold {fmt.term_style(e.term)}")
    text.append(" " + e.text, style="dim" if e.kind == "empty" else "")
    if followed is not None and e.request_id == followed:
        text.stylize("reverse")
    return text


def header(log: LogView, view: ClusterView) -> Text:
    node = view.node(log.node)
    title = fmt.node_title(node) if node else str(log.node)
    applied = log.applied if node and node.up else "—"
    return Text(title, style="bold") + Text(f"\ncommit {log.commit} · applied {applied}",
                                            style="dim")


class LogGrid(DataTable):
    DEFAULT_CLASSES = "view-part"
    cluster: reactive[ClusterView | None] = reactive(None)
    followed: reactive[str | None] = reactive(None)

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="cell", header_height=2, zebra_stripes=False, **kwargs)
        self.shape: tuple = ()

    def watch_cluster(self) -> None:
        self.redraw()

    def watch_followed(self) -> None:
        self.redraw()

    def on_resize(self) -> None:
        self.shape = ()
        self.redraw()

    def redraw(self) -> None:
        view = self.cluster
        if view is None:
            return
        at_tail = self.row_count == 0 or self.cursor_row >= self.row_count - 1
        cursor = self.cursor_coordinate
        self._columns_for(view)
        self.clear()
        lead = leader_terms(view)
        entries = {lg.node: {e.index: e for e in lg.entries} for lg in view.logs}
        for index in index_range(view):
            cells = [cell(lg, index, entries[lg.node], lead, self.followed) for lg in view.logs]
            self.add_row(Text(str(index), style="dim"), *cells, key=str(index))
        if self.row_count:
            row = self.row_count - 1 if at_tail else min(cursor.row, self.row_count - 1)
            self.move_cursor(row=row, column=cursor.column, scroll=at_tail)

    def _columns_for(self, view: ClusterView) -> None:
        width = max(12, (self.size.width - 6) // max(1, len(view.logs)) - 2)
        headers = tuple(header(lg, view).plain for lg in view.logs)
        if self.shape == (headers, width):
            return
        self.clear(columns=True)
        self.add_column(Text("#", style="dim"), width=4, key="index")
        for lg in view.logs:
            self.add_column(header(lg, view), width=width, key=str(lg.node))
        self.shape = (headers, width)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        view = self.cluster
        if view is None or event.cell_key.column_key.value == "index":
            return
        log = view.log(int(event.cell_key.column_key.value))
        index = int(event.cell_key.row_key.value)
        entry = next((e for e in log.entries if e.index == index), None) if log else None
        if entry is not None and entry.request_id:
            self.post_message(FollowRequest(entry.request_id))
