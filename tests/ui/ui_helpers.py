"""Running the app headless on a simulated cluster, for Pilot and snapshot tests."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from textual.pilot import Pilot

from engine import observe as o
from raftviz.ui.app import RaftvizApp, build_sim
from raftviz.ui.widgets.bars import NoteBar

Scenario = Callable[[RaftvizApp, Pilot], Awaitable[None]]


def elected_app(seed: int = 1, nodes: int = 3) -> RaftvizApp:
    """An app on a cluster that has just elected its first leader (seed 1: after 30 ticks)."""
    return RaftvizApp(build_sim(seed=seed, nodes=nodes, at_event=30))


def drive(scenario: Scenario, app: RaftvizApp | None = None,
          size: tuple[int, int] = (160, 48)) -> RaftvizApp:
    app = app or elected_app()

    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await scenario(app, pilot)

    asyncio.run(main())
    return app


def view(app: RaftvizApp) -> o.ClusterView:
    return app.session.backend.view()


async def client(pilot: Pilot, *lines: str) -> None:
    """Enter lines in the client box (filled in whole: typing is slow under Pilot)."""
    await pilot.press("slash")
    box = pilot.app.query_one("#client-input")
    for line in lines:
        box.value = line
        await pilot.press("enter")
    await pilot.press("escape")
    await pilot.pause()


async def settle(pilot: Pilot, ticks: int = 5) -> None:
    """Let time run: one `t` press, then the rest as one command (pressing is slow)."""
    await pilot.press("t")
    if ticks > 1:
        pilot.app.controls.execute(o.Tick(ticks - 1))
    await pilot.pause()


async def each_theme_and_tab(app: RaftvizApp, pilot: Pilot):
    """Every tab in each theme, in turn: yields (theme, tab) once it is on screen."""
    for theme in ("textual-dark", "textual-light"):
        app.theme = theme
        for tab in ("cluster", "messages", "keyspace", "requests"):
            app.action_show_tab(tab)
            await pilot.pause()
            yield theme, tab


def note(app: RaftvizApp) -> str:
    """What the note line says."""
    return app.query_one(NoteBar).message
