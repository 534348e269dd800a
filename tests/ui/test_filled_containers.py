"""Containers marked BLANK (nothing of theirs shows but their background) leave the
screen exactly as it was: every tab, both widths, both themes, and under NO_COLOR,
where a blank line Textual did not style would keep its colour; and a bar in a box of
its own is drawn only when it changes."""

from __future__ import annotations

import pytest

from raftviz.ui.app import FILLED
from raftviz.ui.widgets.bars import ControlsFooter

from .ui_helpers import client, drive, each_theme_and_tab, settle


def screens_with_and_without_marks(app) -> tuple[str, str]:
    marked = [app.screen, *app.query(FILLED)]
    assert all(w.BLANK for w in marked)
    with_marks = app.export_screenshot(simplify=True)
    for widget in marked:
        del widget.BLANK          # back to the class's False
    try:
        return with_marks, app.export_screenshot(simplify=True)
    finally:
        for widget in marked:
            widget.BLANK = True


@pytest.mark.parametrize("size", [(160, 48), (80, 24)])
@pytest.mark.parametrize("no_color", [False, True])
def test_filled_containers_marked_blank_change_nothing_on_screen(monkeypatch, size, no_color):
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    pairs = []

    async def scenario(app, pilot):
        await client(pilot, "put a 1", "put b 2")
        await settle(pilot, 20)
        async for theme, tab in each_theme_and_tab(app, pilot):
            pairs.append((f"{theme} {tab}", *screens_with_and_without_marks(app)))
    drive(scenario, size=size)
    assert len(pairs) == 8
    assert [what for what, marked, plain in pairs if marked != plain] == []


def test_the_footer_is_drawn_only_when_it_changes(monkeypatch):
    """Textual draws every child of the screen whenever anything on it changes; the bars
    sit in boxes of their own (Edge), so ticks that change the logs, the cards and the
    note leave the footer be."""
    drawn, draw = [], ControlsFooter.render_lines
    monkeypatch.setattr(ControlsFooter, "render_lines",
                        lambda self, crop: drawn.append(crop) or draw(self, crop))

    async def scenario(app, pilot):
        await settle(pilot, 5)
        drawn.clear()
        for _ in range(5):
            await settle(pilot, 5)
        assert drawn == []
        await pilot.resize_terminal(150, 48)
        await pilot.pause()
        assert drawn
    drive(scenario)
