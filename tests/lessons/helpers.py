"""Running the `raftviz lesson` subcommand in a test, whether or not cli.py lists it yet."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftviz import cli, lessons
from raftviz.lesson_actions import parse_action

LESSONS = sorted(lessons.LESSONS_DIR.glob("*.lesson"))


def raftviz(monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """`raftviz ARGV...` through the real entry point, with the lesson subcommand in it."""
    if lessons.register not in cli.SUBCOMMANDS:
        monkeypatch.setattr(cli, "SUBCOMMANDS", [*cli.SUBCOMMANDS, lessons.register])
    return cli.main(list(argv))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def commands(text: str) -> list:
    """The commands a lesson action sends to its backend."""
    seen = []

    class Recorder:
        def execute(self, cmd):
            seen.append(cmd)
            return "done"

    list(parse_action(text).run(Recorder()))
    return seen
