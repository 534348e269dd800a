"""RowGrid: a light table for views that change many times a second.

Textual's DataTable renders every visible cell again whenever any cell changes, and the
log grid, the message list and the keyspace change on most frames of a busy cluster.
RowGrid keeps one rendered strip per row, remembered by the row's key together with the
cells it was drawn from, so a frame renders only the rows whose cells changed, wherever
they moved on screen, and repaints only the lines that differ; with no border or padding
it hands Textual those strips as they are (render_lines), put through the app's colour
filters a cell at a time as they were drawn. It has what the views need of a table: a fixed
header (one or more lines), a row or cell cursor moved by keys and the mouse, and
messages when the cursor moves to a row or a row is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar, Hashable, Iterable, Literal, Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.color import Color
from textual.filter import ANSIToTruecolor, DimFilter, LineFilter, Monochrome, NoColor
from textual.geometry import Offset, Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

Cell = Text | str
PAD = 1             # blank cells each side of a column
CELLS_KEPT = 4096   # rendered cells remembered
# Textual's colour filters that change each segment on its own, whatever its neighbours:
# a line they filter a cell at a time is the line they filter whole.
SEGMENT_FILTERS = (ANSIToTruecolor, DimFilter, Monochrome, NoColor)
Ink = tuple[tuple[LineFilter, ...], Color]     # the filters a line goes through, on what


def nothing_laid_over(widget: Widget) -> bool:
    """Textual lays nothing over the widget's lines: no outline, tint, hatch or opacity."""
    styles = widget.styles
    return (not any(edge for edge, _ in styles.outline) and not styles.tint.a
            and styles.text_opacity == 1.0 and widget.opacity == 1.0
            and (not styles.has_rule("hatch") or styles.hatch == "none"))


@dataclass(frozen=True)
class Column:
    key: str
    label: Cell
    width: int | None = None     # None: as wide as the widest cell (the last: or wider)


class RowGrid(ScrollView, can_focus=True):
    BINDINGS: ClassVar = [
        Binding("up", "move(-1, 0)", show=False),
        Binding("down", "move(1, 0)", show=False),
        Binding("left", "move(0, -1)", show=False),
        Binding("right", "move(0, 1)", show=False),
        Binding("pageup", "page(-1)", show=False),
        Binding("pagedown", "page(1)", show=False),
        Binding("home", "edge(-1)", show=False),
        Binding("end", "edge(1)", show=False),
        Binding("enter", "select", show=False),
    ]
    COMPONENT_CLASSES: ClassVar = {"rowgrid--header", "rowgrid--cursor"}
    # True: a last auto column takes what the others leave and cuts longer cells, so rows
    # that change many times a second never change the table's width.
    LAST_FITS = False
    # False: no one listens for where the cursor is (a grid whose cursor follows the tail
    # moves it on every frame, and each message bubbles up to the app for nothing).
    POSTS_HIGHLIGHTED = True
    DEFAULT_CSS = """
    RowGrid {
        background: $surface;
        color: $foreground;
        & > .rowgrid--header { text-style: bold; background: $panel; color: $foreground; }
        & > .rowgrid--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
        }
        &:focus > .rowgrid--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    class Highlighted(Message):
        """The cursor moved to another row (or cell)."""
        def __init__(self, grid: RowGrid, row_key: str, column_key: str) -> None:
            super().__init__()
            self.grid, self.row_key, self.column_key = grid, row_key, column_key

        @property
        def control(self) -> RowGrid:
            return self.grid

    class Selected(Highlighted):
        """The row (or cell) under the cursor was chosen: enter, or a click."""

    def __init__(self, *, cursor: Literal["row", "cell"] = "row", header_height: int = 1,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.cursor, self.header_height = cursor, header_height
        self.columns: tuple[Column, ...] = ()
        self.keys: list[str] = []
        self.cells: dict[str, tuple[Cell, ...]] = {}
        self._looks: dict[str, Hashable] = {}
        self._cells_of: Callable[[str], Sequence[Cell]] = lambda key: ()
        self.cursor_row = self.cursor_column = 0
        self._index: dict[str, int] = {}
        self._widths: tuple[int, ...] = ()
        self._strips: dict[str, tuple[tuple, Strip]] = {}
        self._cells_drawn: dict[tuple, list[Segment]] = {}
        self._header: list[Strip] = []
        self._highlighted: tuple[str, str] | None = None
        self._palette: tuple[Style, Style, Style] | None = None
        self._blank: Strip | None = None
        self._ink: Ink | None = None       # filters applied as lines are drawn (see _inked)
        self._drawn_ink: Ink | None = None     # those the kept header and blank were drawn in
        self._shown_width = 0      # beside the scrollbar, as of the last _fit

    # -- what the views call --

    @property
    def row_count(self) -> int:
        return len(self.keys)

    @property
    def cursor_key(self) -> str | None:
        return self.keys[self.cursor_row] if self.keys else None

    def row_index(self, key: str) -> int:
        return self._index[key]

    def set_columns(self, columns: Sequence[Column]) -> None:
        if tuple(columns) != self.columns:
            self.columns = tuple(columns)
            self._header = []
            if not self._fit():
                self.refresh_lines(self.scroll_offset.y, self.header_height)

    def set_rows(self, rows: Iterable[tuple[str, Sequence[Cell]]],
                 follow_tail: bool = False) -> None:
        """Replace the rows, given as (key, cells). The cursor stays on its row's key if
        that row is still there (on the last row, with follow_tail, if it was there)."""
        rows = [(key, tuple(cells)) for key, cells in rows]
        self.cells = dict(rows)
        self._replace([(key, tuple(map(signature, cells))) for key, cells in rows],
                      follow_tail)

    def set_looks(self, looks: Iterable[tuple[str, Hashable]],
                  cells_of: Callable[[str], Sequence[Cell]], follow_tail: bool = False) -> None:
        """Replace the rows, given as (key, look): a look changes whenever the row's cells
        would, and cells_of(key) makes the cells of a row when it is drawn, so a big
        table that changes fast makes cells only for the changed rows on screen.
        Its columns need fixed widths."""
        self.cells, self._cells_of = {}, cells_of
        self._replace(list(looks), follow_tail)

    def _replace(self, looks: list[tuple[str, Hashable]], follow_tail: bool) -> None:
        was_visible = self._visible()
        at_tail = follow_tail and self.cursor_row >= len(self.keys) - 1
        kept = self.cursor_key
        self.keys, self._looks = [key for key, _ in looks], dict(looks)
        self._index = {key: i for i, key in enumerate(self.keys)}
        for gone in self._strips.keys() - self._looks.keys():
            del self._strips[gone]
        if at_tail or kept not in self._index:
            row = len(self.keys) - 1 if at_tail else min(self.cursor_row, len(self.keys) - 1)
        else:
            row = self._index[kept]
        resized = self._fit()
        self.move_cursor(row=max(0, row), scroll=at_tail or kept not in self._index)
        if not resized:
            self._refresh_changed(was_visible)

    def move_cursor(self, row: int | None = None, column: int | None = None,
                    scroll: bool = True) -> None:
        old = (self.cursor_row, self.cursor_column)
        if row is not None:
            self.cursor_row = max(0, min(row, len(self.keys) - 1))
        if column is not None and self.cursor == "cell":
            self.cursor_column = max(0, min(column, len(self.columns) - 1))
        if (self.cursor_row, self.cursor_column) != old:    # rows that changed repaint anyway
            for r in {old[0], self.cursor_row}:
                self.refresh_lines(self.header_height + r)
        if scroll:
            self._scroll_to_cursor()
        self._post_highlighted()

    # -- drawing --

    def render_line(self, y: int) -> Strip:
        self._use_ink(None)         # Textual filters the lines it is given this way
        return self._line(y, self.scroll_offset, self.scrollable_content_region.width)

    def _line(self, y: int, scroll: Offset, width: int) -> Strip:
        """Line `y` of the grid scrolled to `scroll`, `width` cells wide (looked up once
        for all the lines of a frame: each lookup walks the screen's map)."""
        scroll_x, scroll_y = scroll
        if y < self.header_height:
            strip = self._header_line(y)
        else:
            row = scroll_y + y - self.header_height
            strip = self._row_line(row) if row < len(self.keys) else self._blank_line(width)
        if scroll_x == 0 and strip.cell_length == width:
            return strip        # drawn to fit (see _draw): cropping would copy it
        return strip.crop_extend(scroll_x, scroll_x + width, self._inked_style(self._styles()[0]))

    def render_lines(self, crop: Region) -> list[Strip]:
        """The lines in `crop`, past Textual's per-line styling when the grid has none to
        apply (no border, padding, outline, tint or opacity): each line is this grid's
        own strip, so a row that did not change keeps the strip the app's colour filters
        already made of it."""
        if not self.fits_plain_box():
            return super().render_lines(crop)
        self._styles_cache.clear()      # its lines are not kept current on this path
        base_background, background = self.background_colors
        filters = self.get_line_filters()
        self._use_ink((tuple(filters), background)
                      if all(isinstance(f, SEGMENT_FILTERS) for f in filters) else None)
        blank = self._inked_style(
            self._styles_cache.get_inner_outer(base_background, background)[0].rich_style)
        scroll, shown = self.scroll_offset, self.scrollable_content_region.width
        width = self.content_region.width
        # Beside a vertical scrollbar a line ends where the scrollbar begins: the
        # scrollbar covers the rest, and a line as wide as the region would be cut there
        # into two new strips, every line of every frame.
        drawn = shown if self.scrollbars_enabled == (True, False) else width
        strips = []
        for y in crop.line_range:
            strip = self._line(y, scroll, shown).adjust_cell_length(drawn, blank)
            if self._ink is None:
                for line_filter in filters:
                    strip = strip.apply_filter(line_filter, background)
            strips.append(strip)
        if crop.column_span != (0, width):
            strips = [strip.crop(*crop.column_span) for strip in strips]
        return strips

    def fits_plain_box(self) -> bool:
        """Nothing for Textual to add to a line: no border or padding (the content is the
        whole region, so no border title shows either), outline, tint, hatch or opacity."""
        return (not self.BLANK and self.content_region.size == self.region.size
                and nothing_laid_over(self))

    def notify_style_update(self) -> None:
        self._strips.clear()
        self._cells_drawn.clear()
        self._header, self._palette, self._blank = [], None, None
        super().notify_style_update()

    def _styles(self) -> tuple[Style, Style, Style]:
        """The base, header and cursor styles; worked out once per change of style
        (rich_style walks every ancestor, too slow to ask for each line)."""
        if self._palette is None:
            base = self.rich_style
            self._palette = (base, base + self.get_component_rich_style("rowgrid--header"),
                           self.get_component_rich_style("rowgrid--cursor"))
        return self._palette

    def _row_line(self, row: int) -> Strip:
        key = self.keys[row]
        cursor_at = None
        if row == self.cursor_row:
            cursor_at = self.cursor_column if self.cursor == "cell" else -1
        drawn = (self._looks[key], cursor_at, self.has_focus, self._widths, self._shown_width,
                 self._ink)
        cached = self._strips.get(key)
        if cached is not None and cached[0] == drawn:
            return cached[1]
        cells = self.cells[key] if key in self.cells else self._cells_of(key)
        strip = self._draw(cells, self._styles()[0], cursor_at)
        self._strips[key] = (drawn, strip)
        return strip

    def _blank_line(self, width: int) -> Strip:
        """A line below the last row, kept: a new one would be filtered anew each frame."""
        if self._blank is None or self._blank.cell_length != width:
            self._blank = Strip(self._inked([Segment(" " * width, self._styles()[0])]), width)
        return self._blank

    def _header_line(self, y: int) -> Strip:
        if not self._header:
            style = self._styles()[1]
            labels = [label_lines(c.label, self.header_height) for c in self.columns]
            self._header = [self._draw([lines[i] for lines in labels], style, None)
                            for i in range(self.header_height)]
        return self._header[y]

    def _draw(self, cells: Sequence[Cell], style: Style, cursor_at: int | None) -> Strip:
        """One line of the table; cursor_at is the cell under the cursor (-1: the row)."""
        cursor = self._styles()[2]
        segments: list[Segment] = []
        for i, (cell, width) in enumerate(zip(cells, self._widths)):
            if cursor_at is not None and cursor_at in (i, -1):
                drawn = self._inked(list(Segment.apply_style(
                    self.render_cell(cell, width, style), post_style=cursor)))
            else:
                drawn = self.draw_cell(cell, width, style)
            segments.extend(drawn)
        length = sum(w + 2 * PAD for w in self._widths[:len(cells)])
        fill = self._shown_width - length
        if fill > 0:     # blank to the edge, as render_line would: each copy is a new Strip
            segments += self._inked([Segment(" " * fill, self._styles()[0])])
        return Strip(segments, length + max(0, fill))

    def draw_cell(self, cell: Cell, width: int, style: Style) -> list[Segment]:
        """A cell's segments, `width` + 2 * PAD cells wide, remembered: a row changes when
        one of its cells does, and the same cell shows up again (a log entry on every
        node, a value kept)."""
        key = (signature(cell), width, style, self._ink)
        segments = self._cells_drawn.get(key)
        if segments is None:
            if len(self._cells_drawn) > CELLS_KEPT:
                self._cells_drawn.clear()
            segments = self._cells_drawn[key] = self._inked(self.render_cell(cell, width, style))
        return segments

    def _use_ink(self, ink: Ink | None) -> None:
        self._ink = ink
        if ink != self._drawn_ink:      # the kept header and blank line were drawn in another
            self._drawn_ink, self._header, self._blank = ink, [], None

    def _inked(self, segments: list[Segment]) -> list[Segment]:
        """The segments as the app's colour filters make them, when render_lines draws
        the grid: filtered a cell at a time, a cell that shows up again (a log entry on
        every node) is filtered once, not again with every new line it is in, and no line
        is made twice (Textual's filtering makes a new strip of every new line)."""
        if self._ink is not None:
            filters, background = self._ink
            for line_filter in filters:
                segments = line_filter.apply(segments, background)
        return segments

    def _inked_style(self, style: Style) -> Style | None:
        return self._inked([Segment(" ", style)])[0].style

    def render_cell(self, cell: Cell, width: int, style: Style) -> list[Segment]:
        """Draw one cell; a table whose cells are not Text or str draws its own."""
        return list(Segment.apply_style(cell_segments(cell, width, self), style))

    def _fit(self) -> bool:
        """Work out column widths and the scrollable size; True if either changed."""
        widths = tuple(self._width_of(i, c) for i, c in enumerate(self.columns))
        shown = self.scrollable_content_region.width
        if shown != self._shown_width:      # the lines' blank fill changes with it
            self._shown_width, self._header = shown, []
        spare = shown - sum(w + 2 * PAD for w in widths)
        if widths and spare > 0 and self.columns[-1].width is None:
            widths = widths[:-1] + (widths[-1] + spare,)    # the last auto column fills
        size = Size(sum(w + 2 * PAD for w in widths), self.header_height + len(self.keys))
        changed = widths != self._widths or size != self.virtual_size
        if widths != self._widths:
            self._widths, self._header = widths, []
        if changed:
            self.virtual_size = size
            self.refresh()
        return changed

    def on_resize(self) -> None:
        self._fit()

    def watch_show_vertical_scrollbar(self) -> None:
        self._fit()            # the last column fills what the scrollbar leaves, no more

    def _width_of(self, i: int, column: Column) -> int:
        if column.width is not None:
            return column.width
        widest = max((cell_len(str(line)) for line in label_lines(column.label, 1)),
                     default=0)
        if self.LAST_FITS and i == len(self.columns) - 1:
            return widest
        for cells in self.cells.values():
            if i < len(cells):
                widest = max(widest, cell_len(plain(cells[i])))
        return widest

    def _visible(self) -> list[tuple[str, tuple] | None]:
        top = self.scroll_offset.y
        height = max(0, self.scrollable_content_region.height - self.header_height)
        return [(self.keys[r], self._looks[self.keys[r]]) if r < len(self.keys) else None
                for r in range(top, top + height)]

    def _refresh_changed(self, before: list) -> None:
        repaint_changed(self, before, self._visible(), self.scroll_offset.y + self.header_height)

    # -- the cursor --

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - self.header_height)
        top = self.scroll_offset.y
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + visible:
            self.scroll_to(y=self.cursor_row - visible + 1, animate=False, immediate=True)

    def _post_highlighted(self) -> None:
        at = self._cursor_at()
        if self.POSTS_HIGHLIGHTED and at is not None and at != self._highlighted:
            self._highlighted = at
            self.post_message(self.Highlighted(self, *at))

    def _cursor_at(self) -> tuple[str, str] | None:
        if not self.keys or not self.columns:
            return None
        column = self.columns[self.cursor_column if self.cursor == "cell" else 0]
        return self.keys[self.cursor_row], column.key

    def action_move(self, rows: int, columns: int) -> None:
        self.move_cursor(row=self.cursor_row + rows, column=self.cursor_column + columns)

    def action_page(self, direction: int) -> None:
        page = max(1, self.scrollable_content_region.height - self.header_height)
        self.action_move(direction * page, 0)

    def action_edge(self, direction: int) -> None:
        self.move_cursor(row=0 if direction < 0 else len(self.keys) - 1)

    def action_select(self) -> None:
        at = self._cursor_at()
        if at is not None:
            self.post_message(self.Selected(self, *at))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y < self.header_height:
            return
        row = self.scroll_offset.y + offset.y - self.header_height
        if row >= len(self.keys):
            return
        self.move_cursor(row=row, column=self._column_at(self.scroll_offset.x + offset.x))
        self.action_select()

    def _column_at(self, x: int) -> int:
        for i, width in enumerate(self._widths):
            x -= width + 2 * PAD
            if x < 0:
                return i
        return len(self._widths) - 1


def repaint_changed(widget: ScrollView, before: list, after: list, top: int) -> None:
    """Repaint the lines from the first to the last one whose look changed, `before` and
    `after` being the looks of the lines shown from line `top` (one region: a refresh per
    line costs more than the few unchanged lines between)."""
    changed = [y for y, (old, new) in enumerate(zip(before, after)) if old != new]
    if changed:
        widget.refresh_lines(top + changed[0], changed[-1] - changed[0] + 1)


def plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def signature(cell: Cell) -> Hashable:
    """What a cell looks like, comparable (rich's Text equality ignores the base style);
    any other cell is its own signature."""
    if isinstance(cell, Text):
        return cell.plain, cell.style, tuple(cell.spans)
    return cell


def label_lines(label: Cell, height: int) -> list[Cell]:
    """A header label cut into `height` lines (a two-line label over a one-line header
    keeps its first line)."""
    lines: list[Cell] = list(label.split("\n")) if isinstance(label, Text) \
        else label.split("\n")
    return (lines + [""] * height)[:height]


def cell_segments(cell: Cell, width: int, grid: RowGrid) -> list[Segment]:
    """The cell's first line, cut with an ellipsis or padded to `width`, with PAD blanks
    each side."""
    console = grid.app.console
    if width > 0 and is_plain(cell):
        return plain_cell_segments(cell, width, console)
    return rich_cell_segments(cell, width, console)


def is_plain(cell: Cell) -> bool:
    """One cell a character, in one style (or none)."""
    text = plain(cell)
    return text.isascii() and text.isprintable() and (isinstance(cell, str) or not cell.spans)


def plain_cell_segments(cell: Cell, width: int, console: Console) -> list[Segment]:
    """What rich_cell_segments draws of a plain cell, five to eight times faster: a busy
    keyspace's values, revisions and versions are new on every frame."""
    pad = Segment(" " * PAD)
    if isinstance(cell, str) or not cell.style:
        text = plain(cell)
        return [pad, Segment(text.ljust(width) if len(text) <= width
                             else text[:width - 1] + "…"), pad]
    style = console.get_style(cell.style)         # its words are styled, not the padding
    if len(cell.plain) > width:
        return [pad, Segment(cell.plain[:width - 1] + "…", style), pad]
    return [pad, Segment(cell.plain, style), Segment(" " * (width - len(cell.plain))), pad]


def rich_cell_segments(cell: Cell, width: int, console: Console) -> list[Segment]:
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    if "\n" in text.plain:
        text = text.split("\n")[0]
    if text.style:    # Text.render applies only the spans: make the base style one
        text.stylize_before(text.style)
        text.style = ""
    text.truncate(width, overflow="ellipsis", pad=True)
    pad = Segment(" " * PAD)
    return [pad, *text.render(console), pad]
