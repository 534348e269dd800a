"""RowGrid on its own: rows by key, the cursor that stays on its row, rows drawn only when
they changed (and cells made only for those), keys and clicks that choose a row."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings, strategies as st
from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widget import Widget

from raftviz.ui.widgets.rows import (
    Column, RowGrid, is_plain, plain_cell_segments, rich_cell_segments,
)

from .ui_helpers import client, drive, each_theme_and_tab, settle


class GridApp(App):
    def __init__(self, cursor: str = "row") -> None:
        super().__init__()
        self.cursor, self.chosen, self.highlighted = cursor, [], []

    def compose(self) -> ComposeResult:
        yield RowGrid(cursor=self.cursor)

    def on_row_grid_selected(self, event: RowGrid.Selected) -> None:
        self.chosen.append((event.row_key, event.column_key))

    def on_row_grid_highlighted(self, event: RowGrid.Highlighted) -> None:
        if not isinstance(event, RowGrid.Selected):
            self.highlighted.append(event.row_key)


def run(scenario, cursor: str = "row") -> None:
    async def main() -> None:
        app = GridApp(cursor)
        async with app.run_test(size=(40, 10)) as pilot:
            grid = app.query_one(RowGrid)
            grid.set_columns([Column("k", "key", 6), Column("v", "value")])
            await scenario(app, grid, pilot)
    asyncio.run(main())


def rows(*pairs: tuple[str, str]):
    return [(k, (k, v)) for k, v in pairs]


def test_the_cursor_stays_on_its_key_or_follows_the_tail():
    async def scenario(app, grid, pilot):
        grid.set_rows(rows(("a", "1"), ("b", "2"), ("c", "3")))
        grid.move_cursor(row=1)
        grid.set_rows(rows(("0", "0"), ("a", "1"), ("b", "2"), ("c", "3")))
        assert grid.cursor_key == "b"
        grid.set_rows(rows(("0", "0"), ("a", "1")))        # its row gone: same place
        assert grid.cursor_row == 1
        grid.set_rows(rows(("0", "0"), ("a", "1"), ("b", "2")), follow_tail=True)
        assert grid.cursor_key == "b"                      # it was on the last row
        grid.set_rows(rows(("0", "0"), ("a", "1")))
        grid.move_cursor(row=0)
        grid.set_rows(rows(("0", "0"), ("a", "1"), ("b", "2")), follow_tail=True)
        assert grid.cursor_key == "0"
    run(scenario)


def test_a_cursor_moved_to_another_row_is_announced_unless_no_one_listens(monkeypatch):
    async def scenario(app, grid, pilot):
        grid.set_rows(rows(("a", "1"), ("b", "2")), follow_tail=True)     # on the tail
        grid.set_rows(rows(("a", "1"), ("b", "2"), ("c", "3")), follow_tail=True)
        await pilot.pause()
        seen = list(app.highlighted)
        monkeypatch.setattr(RowGrid, "POSTS_HIGHLIGHTED", False)     # as the log grid
        grid.set_rows(rows(("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")), follow_tail=True)
        await pilot.press("enter")
        assert seen == ["b", "c"] and app.highlighted == seen      # d: not announced
        assert app.chosen == [("d", "k")]                               # still chosen
    run(scenario)


def test_a_row_is_drawn_again_only_when_its_cells_change():
    async def scenario(app, grid, pilot):
        made = []
        looks = {"a": 1, "b": 1, "c": 1}

        def cells_of(key):
            made.append(key)
            return (key, Text(str(looks[key]), style="bold"))

        grid.set_looks(looks.items(), cells_of)
        await pilot.pause()
        assert sorted(made) == ["a", "b", "c"]
        made.clear()
        looks["b"] = 2
        grid.set_looks(looks.items(), cells_of)
        await pilot.pause()
        assert made == ["b"]
        assert "2" in grid.render_line(1 + 1).text           # header, a, then b
    run(scenario)


def test_a_base_style_alone_is_a_change_and_is_drawn():
    async def scenario(app, grid, pilot):
        grid.set_rows([("a", ("a", Text("x")))])
        await pilot.pause()
        plain = grid.render_line(1)
        grid.set_rows([("a", ("a", Text("x", style="reverse")))])
        await pilot.pause()
        assert grid.render_line(1) != plain
    run(scenario)


def test_enter_and_a_click_choose_the_cell_under_the_cursor():
    async def scenario(app, grid, pilot):
        grid.set_rows(rows(("a", "1"), ("b", "2")))
        grid.focus()
        await pilot.press("down", "right", "enter")
        await pilot.click(RowGrid, offset=(2, 1))          # first row, first column
        assert app.chosen == [("b", "v"), ("a", "k")]
    run(scenario, cursor="cell")


def test_rows_set_again_as_they_were_repaint_nothing():
    """A busy view sets every table's rows each frame; unchanged ones must not repaint
    (the cursor's line included): each repaint made a screen update showing nothing new."""
    async def scenario(app, grid, pilot):
        grid.set_rows(rows(("a", "1"), ("b", "2")))
        await pilot.pause()
        repainted = []
        grid.refresh_lines = lambda y, count=1: repainted.append((y, count))
        grid.set_rows(rows(("a", "1"), ("b", "2")))
        assert repainted == []
        grid.set_rows(rows(("a", "1"), ("b", "3")))
        assert repainted == [(grid.header_height + 1, 1)]
        grid.move_cursor(row=1)
        assert repainted[1:] == [(grid.header_height, 1), (grid.header_height + 1, 1)]
    run(scenario)


def test_rows_that_outgrow_the_height_narrow_to_fit_beside_the_scrollbar():
    async def scenario(app, grid, pilot):
        grid.set_rows(rows(*[(f"k{i}", "v") for i in range(3)]))
        await pilot.pause()
        assert not grid.show_vertical_scrollbar
        grid.set_rows(rows(*[(f"k{i}", "v") for i in range(30)]))   # the grid is 10 high
        await pilot.pause()
        assert grid.show_vertical_scrollbar and not grid.show_horizontal_scrollbar
        width = grid.scrollable_content_region.width
        assert grid.virtual_size.width == width == 40 - grid.styles.scrollbar_size_vertical
        assert grid.render_line(1).cell_length == width
    run(scenario)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=14),
       st.integers(min_value=1, max_value=16),
       st.sampled_from([None, "", "bold", "reverse", "underline red on blue"]))
def test_a_plain_cell_is_drawn_as_rich_draws_it(words, width, style):
    """The fast way for cells of one style in one-cell characters draws what rich does:
    words cut with an ellipsis or padded, the padding unstyled (a reversed cell's blank
    tail must not light up)."""
    cell = words if style is None else Text(words, style=style)
    assert is_plain(cell)
    console, base = Console(), Style(color="white", bgcolor="black")

    def drawn(segments):
        return [(s.text, s.style) for s in Segment.apply_style(segments, base) if s.text]
    assert drawn(plain_cell_segments(cell, width, console)) == \
        drawn(rich_cell_segments(cell, width, console))


def test_cells_rich_must_measure_are_not_plain():
    assert not is_plain("naïve") and not is_plain("a\tb") and not is_plain("two\nlines")
    assert not is_plain(Text.assemble(("a", "bold"), "b"))       # two styles


def screen_both_ways(app, monkeypatch) -> tuple[str, str]:
    """The whole screen as the terminal gets it, then with every table going Textual's
    way (an SVG of each)."""
    short = app.export_screenshot(simplify=True)
    with monkeypatch.context() as m:
        m.setattr(RowGrid, "fits_plain_box", lambda grid: False)
        textuals = app.export_screenshot(simplify=True)
    return short, textuals


def tables_drawn_both_ways(app) -> list[tuple[str, bool, bool]]:
    """Each table on screen, whether it takes the short way past Textual's line styling,
    and whether that draws what Textual's own way does: all of it, and a crop of it, as
    far as it shows (a vertical scrollbar covers the rest)."""
    out = []
    for grid in app.query(RowGrid):
        r = grid.region
        if not r.area:
            continue
        for crop in (Region(0, 0, r.width, r.height),
                     Region(3, 1, max(1, r.width - 5), max(1, r.height - 2))):
            shown = grid.scrollable_content_region.width - crop.x
            same = [line.crop(0, shown) for line in grid.render_lines(crop)] == \
                [line.crop(0, shown) for line in Widget.render_lines(grid, crop)]
            scrolls = " scrolls" if grid.scrollbars_enabled[0] else ""
            out.append((f"{type(grid).__name__} {crop}{scrolls}", grid.fits_plain_box(),
                        same))
    return out


@pytest.mark.parametrize("no_color", [False, True])
def test_tables_draw_their_lines_as_textual_would(monkeypatch, no_color):
    """RowGrid hands Textual its lines ready to show when it has no border, padding or
    tint to add: on every tab, both themes and under NO_COLOR, they are the lines
    Textual's own styling makes, and the main tables do take that way; the screen, its
    scrollbars included, is the same as when every table goes Textual's way."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    found, screens = [], []

    async def scenario(app, pilot):
        await client(pilot, *(f"put key{i} {i}" for i in range(40)))   # the log scrolls
        await settle(pilot, 20)
        async for _ in each_theme_and_tab(app, pilot):
            found.extend(tables_drawn_both_ways(app))
            screens.append(screen_both_ways(app, monkeypatch))
    drive(scenario)
    assert all(same for _, _, same in found), [what for what, _, same in found if not same]
    assert all(short == textuals for short, textuals in screens)
    assert any(what.startswith("LogGrid") and what.endswith("scrolls") for what, _, _ in found)
    short_way = {what.split()[0] for what, plain_box, _ in found if plain_box}
    assert {"LogGrid", "MessageTable", "RowGrid"} <= short_way
