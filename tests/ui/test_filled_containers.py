"""Containers marked BLANK (their children fill them, so nothing of theirs shows) leave
the screen exactly as it was: every tab, both widths, both themes, and under NO_COLOR,
where a blank line Textual did not style would keep its colour."""

from __future__ import annotations

import pytest

from raftviz.ui.app import FILLED

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
