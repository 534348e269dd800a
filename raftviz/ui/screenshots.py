"""Pictures of the main screens, for the README and the docs: `python -m raftviz.ui.screenshots`.

Each scene starts from the same simulated cluster (seed 1, three nodes, opened at event
30 when its first leader has just been elected), the lesson scene from the watches
lesson's own, and drives the app as a user would, so the pictures are the same on every
run. Notifications are cleared before the picture is taken: they expire on a wall-clock
timer, which would make pictures depend on speed. The SVG snapshot tests replay these
scenes too.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Awaitable, Callable

from textual.pilot import Pilot

from engine import observe as o

from .app import RaftvizApp, build_sim

Scene = Callable[[Pilot], Awaitable[None]]
ASSETS = Path(__file__).resolve().parents[2] / "assets"


def fresh_app() -> RaftvizApp:
    return RaftvizApp(build_sim(seed=1, nodes=3, at_event=30))


def lesson_app() -> RaftvizApp:
    """The watches lesson, from its start (its own cluster: seed 4)."""
    from raftviz.lesson_session import LessonSession
    from raftviz.lessons import LESSONS_DIR, load

    from .screens.lesson import LessonApp
    return LessonApp(LessonSession(load(LESSONS_DIR / "14-watches.lesson")))


async def send(pilot: Pilot, *lines: str) -> None:
    """Enter lines in the client box, then leave it."""
    await pilot.press("slash")
    box = pilot.app.query_one("#client-input")
    for line in lines:
        box.value = line
        await pilot.press("enter")
    await pilot.press("escape")


async def ticks(pilot: Pilot, count: int) -> None:
    """Move time on `count` ticks as one command (as `tick N` in a scenario file)."""
    pilot.app.controls.execute(o.Tick(count))
    await pilot.pause()


async def with_data(pilot: Pilot) -> None:
    await send(pilot, "put greeting hello", "put colour blue", "watch colour",
               "lease grant 30")
    await ticks(pilot, 3)
    await send(pilot, "put colour green")


async def cluster(pilot: Pilot) -> None:
    await with_data(pilot)
    await pilot.press("1")
    await pilot.pause()


async def messages(pilot: Pilot) -> None:
    await pilot.press("h")
    await send(pilot, "put greeting hello")
    await pilot.press("2")
    await pilot.pause()


async def keyspace(pilot: Pilot) -> None:
    await with_data(pilot)
    await ticks(pilot, 3)
    await pilot.press("3")
    await pilot.pause()


async def requests(pilot: Pilot) -> None:
    await with_data(pilot)
    await ticks(pilot, 2)
    await pilot.press("4")
    await pilot.pause()


async def partition(pilot: Pilot) -> None:
    pilot.app.controls.execute(o.Partition.groups((2,), (1, 3)))
    await send(pilot, "put stranded value")
    await ticks(pilot, 20)
    await pilot.press("1")
    await pilot.pause()


async def crash_dialog(pilot: Pilot) -> None:
    await pilot.press("c")
    await pilot.pause()


async def help_screen(pilot: Pilot) -> None:
    await pilot.press("question_mark")
    await pilot.pause()


async def lesson_question(pilot: Pilot) -> None:
    """On through the lesson (each step played out) to its first question."""
    from raftviz.lesson_session import Phase, panel

    session = pilot.app.lesson_session
    while not panel(session).choices and session.phase is not Phase.FINISHED:
        await pilot.press("full_stop")
        while session.phase is Phase.RUNNING:
            await pilot.pause(0.01)
    await pilot.pause()


def still(scene: Scene) -> Scene:
    """The scene, then its notifications cleared so the picture holds still."""
    async def run(pilot: Pilot) -> None:
        await scene(pilot)
        pilot.app.clear_notifications()
        await pilot.pause()
    return run


# name -> (scene, terminal size)
SCENES: dict[str, tuple[Scene, tuple[int, int]]] = {
    "cluster": (still(cluster), (160, 48)),
    "messages": (still(messages), (160, 48)),
    "keyspace": (still(keyspace), (160, 48)),
    "requests": (still(requests), (160, 48)),
    "partition": (still(partition), (160, 48)),
    "narrow": (still(cluster), (80, 24)),
    "crash-dialog": (still(crash_dialog), (80, 24)),
    "help": (still(help_screen), (100, 40)),
    "lesson": (still(lesson_question), (160, 48)),
}
APPS: dict[str, Callable[[], RaftvizApp]] = {"lesson": lesson_app}   # else fresh_app


async def shoot(name: str, out: Path) -> Path:
    scene, size = SCENES[name]
    app = APPS.get(name, fresh_app)()
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await scene(pilot)
        await pilot.pause()
        return Path(app.save_screenshot(f"screenshot-{name}.svg", str(out)))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ASSETS, help="directory for the SVGs")
    parser.add_argument("names", nargs="*", metavar="SCENE",
                        help=f"scenes to shoot, of {', '.join(SCENES)} (default: all)")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in SCENES]
    if unknown:
        parser.error(f"unknown scene {unknown[0]!r}")
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.names or SCENES:
        print(asyncio.run(shoot(name, args.out)))


if __name__ == "__main__":
    main()
