"""Nodes at a glance: a card per node on wide screens, one row per node on narrow ones.

A follower's card also shows how the leader sees it (match, next, progress state), which
is where replication problems show first. Roles are written out and marked with a symbol
(★ leader, ◆ candidate, ✖ down), never told by colour alone.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.color import Color
from textual.containers import Horizontal
from textual.events import Click
from textual.filter import LineFilter
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from engine.observe import ClusterView, NodeView, ProgressView

from ..format import Part, labelled, log_range, node_title, short_bytes
from ..messages import NodeClicked
from .kept_style import KeptStyle, text_segments
from .rows import SEGMENT_FILTERS, nothing_laid_over, signature


FIELD_BREAK = re.compile(r"  | · ")     # between two fields of a card line


def leader_sees(view: ClusterView) -> dict[int, ProgressView]:
    leader = view.leader()
    return {p.peer: p for p in leader.progress} if leader else {}


def progress_parts(p: ProgressView) -> list[Part]:
    """`match 4 · next 6 · replicate ⇢1`: the leader's bookkeeping for one follower."""
    parts = labelled(("match", p.match), ("next", p.next), sep=" · ")
    parts.append((f" · {p.state}", "bold" if p.state != "replicate" else ""))
    if p.inflight:
        parts.append((f" ⇢{p.inflight}", "dim"))
    if not p.recent_active:
        parts.append((" · silent", "bold"))
    return parts


def extras(n: NodeView) -> list[str]:
    items = [f"no {name}" for name, on in (("pre-vote", n.pre_vote),
                                           ("check-quorum", n.check_quorum)) if not on]
    if n.clock_rate != 100:
        items.append(f"clock {n.clock_rate}%")
    if n.syncing:
        items.append(f"◌ {n.syncing} syncing")
    if n.lead_transferee:
        items.append(f"handing over → {n.lead_transferee}")
    if n.db_size:
        live = f" ({short_bytes(n.db_in_use)} live)" if n.up and n.db_in_use < n.db_size else ""
        items.append(f"db {short_bytes(n.db_size)}{live}")
    return items


def followers_text(leader: NodeView, alone: bool = False) -> str:
    """What a leader's card says of its followers' logs. A real etcd does not report its
    leader's view of them; a leader alone (the only member) has none."""
    followers = [p for p in leader.progress if p.peer != leader.id]
    if alone or (leader.progress and not followers):
        return "no followers: alone, it is the majority"
    if not leader.progress:
        return "its followers' progress is not reported"
    in_sync = sum(1 for p in followers if p.match == leader.last_index)
    return f"{in_sync} of {len(followers)} followers have its whole log"


def fit_fields(line: Text, width: int, console) -> list[Text]:
    """A card line cut to `width` between its fields (two spaces or " · " apart, as
    `labelled` and the lists write them), so no label ends a line with its value on the
    next; a field wider than the card wraps as rich wraps words."""
    if line.cell_len <= width:
        return [line]
    pieces, start, sep = [], 0, ""
    for match in FIELD_BREAK.finditer(line.plain):
        pieces.append((sep, line[start:match.start()]))
        start, sep = match.end(), match.group()
    pieces.append((sep, line[start:]))
    out: list[Text] = []
    for sep, field in pieces:
        if out and out[-1].cell_len + len(sep) + field.cell_len <= width:
            out[-1].append(sep)
            out[-1].append_text(field)
        elif field.cell_len <= width:
            out.append(field)
        else:
            out += field.wrap(console, width)
    return out


@functools.lru_cache(maxsize=64)
def part_style(name: str, base: Style) -> Style:
    return base + Style.parse(name) if name else base


def line_strip(line: tuple[Part, ...] | Text, width: int, base: Style, console) -> Strip:
    """One line of a card as Textual draws it. A line that fits, most of them, goes
    straight from its parts to segments: the cards' lines change on most frames of a busy
    cluster, and through rich's Text three cards took 0.8-1.1 ms a frame, now 0.6."""
    if isinstance(line, Text):
        segments = text_segments(line, console, base)
    else:
        segments = [Segment(text, part_style(name, base)) for text, name in line if text]
    return Strip(segments).extend_cell_length(width, base)


@dataclass(frozen=True, eq=False)
class CardBox:
    """A card's border sides, with what they were drawn for."""
    filters: tuple[LineFilter, ...]     # the app's colour filters, as Textual applies them
    background: Color
    left: Strip         # the left border and padding
    right: Strip
    inner: Style        # the style of the padding and of a line's blank end


class NodeCard(KeptStyle, Widget):
    """One node's card. Its numbers change on most frames of a busy cluster, so it draws
    itself a line at a time (Textual's line API) and repaints only the lines whose text
    changed: re-rendering whole cards cost a tenth of every frame under load."""

    def __init__(self, node_id: int) -> None:
        super().__init__(id=f"card-{node_id}", classes="node-card")
        self.node_id = node_id
        self.node: NodeView | None = None
        self.seen: ProgressView | None = None     # how the leader sees this follower
        self.alone = False                        # the cluster's only member
        self.needed = 0                           # lines its text takes at its width
        self.tooltip = "Click for what you can do to this node"
        self._drawn: list[tuple[object, Strip]] = []    # per line: what it shows, drawn
        self._title = ""
        self._box: CardBox | None = None                # its border's sides, as drawn
        self._box_key: tuple | None = None              # for what size and filters
        self._boxed: dict[int, tuple[Strip, CardBox, Strip]] = {}  # content, box -> line
        self._rims: dict[int, tuple[CardBox, str, Strip]] = {}     # top and bottom lines

    def on_click(self) -> None:
        self.post_message(NodeClicked(self.node_id))

    def show(self, node: NodeView, seen: ProgressView | None, alone: bool = False) -> None:
        """Show the node, how the leader sees it, and whether it is the only member."""
        if (node, seen, alone) == (self.node, self.seen, self.alone):
            return
        if node != self.node:
            title = node_title(node)
            if title != self._title:    # setting a title repaints the whole card
                self.border_title = self._title = title
            for cls, on in (("-leader", node.is_leader), ("-down", not node.up),
                            ("-candidate", node.up and "candidate" in node.role),
                            ("-paused", node.paused)):
                self.set_class(on, cls)
        self.node, self.seen, self.alone = node, seen, alone
        self._redraw()

    def card_text(self) -> Text:
        return Text("\n").join(self.card_lines())

    def card_lines(self, width: int | None = None) -> list[Text]:
        return [Text.assemble(*parts) for parts in self.card_parts(width)]

    def card_parts(self, width: int | None = None) -> list[tuple[Part, ...]]:
        """The card's lines as (text, style) parts, most telling first; a client URL too
        long for `width` loses its scheme."""
        n = self.node
        if n is None:
            return []
        lines = [labelled(("term", n.term), ("vote", n.vote or "—"), ("lead", n.lead or "—")),
                 labelled(("commit", n.commit), ("applied", n.applied if n.up else "—")),
                 labelled(("log", log_range(n.first_index, n.last_index)),
                          ("snap", n.snapshot_index), ("rev", n.revision if n.up else "—"))]
        if self.seen is not None and not n.is_leader:
            lines.append([("leader: ", "dim"), *progress_parts(self.seen)])
        elif n.is_leader:
            lines.append([(followers_text(n, self.alone), "dim")])
        if notes := extras(n):
            lines.append([(" · ".join(notes), "italic")])
        if n.client_url:
            url = n.client_url
            if width is not None and len("client ") + len(url) > width:
                url = url.split("://")[-1]
            lines.append([("client ", "dim"), (url, "")])
        return [tuple(line) for line in lines]

    def _redraw(self) -> None:
        """Wrap the card's lines to the width and repaint the lines that changed."""
        width = self.content_region.width
        if width <= 0 or not self.is_mounted:
            return
        base, console = self.base_style(), self.app.console
        lines: list[tuple[Part, ...] | Text] = []
        for parts in self.card_parts(width):
            if sum(cell_len(text) for text, _ in parts) <= width:
                lines.append(parts)
            else:
                lines += fit_fields(Text.assemble(*parts), width, console)
        if len(lines) != self.needed:
            self.needed = len(lines)
            if isinstance(self.parent, NodeCards):
                self.parent.fit()
        old, self._drawn = self._drawn, []
        for y in range(max(len(lines), len(old))):
            line = lines[y] if y < len(lines) else ()
            sig = signature(line)
            if y < len(old) and old[y][0] == sig:
                self._drawn.append(old[y])
                continue
            self._drawn.append((sig, line_strip(line, width, base, console)))
            self.refresh(Region(0, y, width, 1))     # content coordinates, as refresh wants

    def render_line(self, y: int) -> Strip:
        if y < len(self._drawn):
            return self._drawn[y][1]
        return Strip.blank(self.content_region.width, self.base_style())

    def render_lines(self, crop: Region) -> list[Strip]:
        """The card's lines, those inside its border put together here: Textual's styling
        adds the border and padding to each changed line anew (20-35 us a line, most of
        what three busy cards cost a frame), but they are the same on every line, so they
        are taken from one line Textual drew and put around each new line of text. The
        top and bottom lines (the border and its title) are Textual's."""
        box = self._sides()
        if box is None:
            return super().render_lines(crop)
        height = self.outer_size.height
        strips = [self._boxed_line(y - 1, box) if 0 < y < height - 1 else self._rim(y, box)
                  for y in crop.line_range]
        width = self.outer_size.width
        if crop.column_span != (0, width):
            strips = [strip.crop(*crop.column_span) for strip in strips]
        return strips

    def _sides(self) -> CardBox | None:
        """The sides of the border (and padding) as Textual draws them now, or None when
        Textual would add more to a line than sides. Worked out again when the card's
        size, style or colour filters change."""
        key = (self.outer_size, tuple(self.get_line_filters()))
        if key != self._box_key:
            self._box_key, self._box = key, self._draw_sides(*key)
        return self._box

    def _draw_sides(self, size: Size, filters: tuple[LineFilter, ...]) -> CardBox | None:
        """None for an outline, tint, hatch, opacity or a filter that works on whole
        lines."""
        gutter = self.styles.gutter
        if (self.BLANK or size.height < 3 or gutter.top != 1 or gutter.bottom != 1
                or not nothing_laid_over(self)
                or not all(isinstance(f, SEGMENT_FILTERS) for f in filters)):
            return None
        width = size.width
        self._styles_cache.set_dirty(Region(0, 1, width, 1))     # drawn afresh
        line = super().render_lines(Region(0, 1, width, 1))[0]
        base_background, background = self.background_colors
        inner = self._styles_cache.get_inner_outer(base_background, background)[0]
        return CardBox(filters, background, line.crop(0, gutter.left),
                       line.crop(width - gutter.right, width), inner.rich_style)

    def _rim(self, y: int, box: CardBox) -> Strip:
        """The top or bottom line, as Textual draws it, kept until the sides or the
        title change."""
        kept = self._rims.get(y)
        if kept is None or kept[0] is not box or kept[1] != self._title:
            line = super().render_lines(Region(0, y, self.outer_size.width, 1))[0]
            kept = self._rims[y] = (box, self._title, line)
        return kept[2]

    def _boxed_line(self, y: int, box: CardBox) -> Strip:
        """Content line `y` inside the sides, filtered as Textual would filter the line;
        kept until the line or the sides change."""
        content = self.render_line(y)
        kept = self._boxed.get(y)
        if kept is not None and kept[0] is content and kept[1] is box:
            return kept[2]
        inside = content.adjust_cell_length(self.content_region.width, box.inner)
        for line_filter in box.filters:
            inside = inside.apply_filter(line_filter, box.background)
        line = Strip.join([box.left, inside, box.right])
        self._boxed[y] = (content, box, line)
        return line

    def on_resize(self) -> None:
        self._drawn = []
        self._redraw()
        self.refresh()

    def notify_style_update(self) -> None:
        self._drawn, self._box_key = [], None
        super().notify_style_update()
        self._redraw()


class NodeCards(Horizontal):
    """One card per node, kept by node id: a node that joins gets a card, one that
    leaves loses it, and updates never wait for (or race) a remount."""
    DEFAULT_CLASSES = "view-part"
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)

    LINES = (6, 10)     # of a card's text: the fewest shown, the most a narrow card grows to

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cards: dict[int, NodeCard] = {}
        self.tallest = 0            # the most lines a card needed, at this width and nodes
        self._width = 0

    def fit(self) -> None:
        """As tall as the longest card's text has been (narrow cards wrap theirs), within
        LINES. A card that needs a line more for a moment (a follower gone silent for a
        heartbeat) grows the row at once, but the row shrinks back only when the cards or
        their width change: each new height lays the whole screen out again and moves
        everything below, which a busy cluster's cards did every few seconds."""
        needed = max((card.needed for card in self.cards.values()), default=0)
        self.tallest = max(self.tallest, needed)
        height = min(max(self.tallest, self.LINES[0]), self.LINES[1]) + 2   # and the borders
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height

    def on_resize(self) -> None:
        if self.size.width != self._width:      # not its own new height: cards rewrap
            self._width = self.size.width
            self.call_after_refresh(self.fit_afresh)

    def fit_afresh(self) -> None:
        self.tallest = 0
        self.fit()

    def watch_cluster(self, view: ClusterView | None) -> None:
        if view is None:
            return
        ids = [n.id for n in view.nodes]
        gone = [i for i in self.cards if i not in ids]
        for i in gone:
            self.cards.pop(i).remove()
        if gone:
            self.fit_afresh()
        for new in [i for i in ids if i not in self.cards]:
            self.cards[new] = NodeCard(new)
            self.mount(self.cards[new])
        seen = leader_sees(view)
        for n in view.nodes:
            self.cards[n.id].show(n, seen.get(n.id), alone=len(view.nodes) == 1)


class NodeTable(Widget):
    """The same facts as the cards, one row per node, for narrow terminals."""
    DEFAULT_CLASSES = "view-part"
    cluster: reactive[ClusterView | None] = reactive(None)

    def watch_cluster(self, old: ClusterView | None, view: ClusterView | None) -> None:
        # Its height follows the number of nodes: lay out again only when that changes.
        if old is None or view is None or len(old.nodes) != len(view.nodes):
            self.refresh(layout=True)

    def on_click(self, event: Click) -> None:
        view = self.cluster
        row = event.y - 1            # below the heading
        if view is not None and 0 <= row < len(view.nodes):
            self.post_message(NodeClicked(view.nodes[row].id))

    def render(self) -> Table:
        table = Table(box=None, padding=(0, 1), expand=True, header_style="dim")
        for name, justify in (("node", "left"), ("term", "right"), ("vote", "right"),
                              ("commit", "right"), ("applied", "right"), ("log", "right"),
                              ("leader: match/next", "left")):
            table.add_column(name, justify=justify, no_wrap=True)
        view = self.cluster
        if view is None:
            return table
        seen = leader_sees(view)
        for n in view.nodes:
            p = seen.get(n.id)
            sees = f"{p.match}/{p.next} {p.state}" if p and not n.is_leader else ""
            style = "bold" if n.is_leader else ("dim" if not n.up else "")
            table.add_row(Text(node_title(n), style=style), str(n.term), str(n.vote or "—"),
                          str(n.commit), str(n.applied) if n.up else "—",
                          log_range(n.first_index, n.last_index), sees)
        return table
