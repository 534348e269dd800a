"""`raftviz serve`: the command each browser tab runs, and a lesson checked before any tab
opens it (the server itself is textual-serve's)."""

from __future__ import annotations

import shlex
import sys

from raftviz.cli import main
from raftviz.cmd_serve import app_command
from raftviz.lessons import LESSONS_DIR


def command(monkeypatch, *argv: str) -> list[str]:
    seen = []

    class Server:
        def __init__(self, command, **kwargs):
            seen.append(command)

        def serve(self):
            pass

    import textual_serve.server
    monkeypatch.setattr(textual_serve.server, "Server", Server)
    assert main(["serve", *argv]) == 0
    return shlex.split(seen[0])


def test_each_tab_runs_the_simulator_a_live_cluster_or_a_lesson(monkeypatch):
    assert command(monkeypatch, "--seed", "7") == [sys.executable, "-m", "raftviz", "--sim",
                                                   "--seed", "7"]
    assert command(monkeypatch, "--live")[3:] == []
    assert command(monkeypatch, "--lesson", "quota")[3:] == ["lesson", "run", "quota"]


def test_lessons_from_a_teachers_directory(monkeypatch, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "01-hello.lesson").write_text(
        (LESSONS_DIR / "01-keys-values.lesson").read_text())
    argv = command(monkeypatch, "--lesson", "hello", "--lessons", str(mine))
    assert argv[3:] == ["lesson", "run", "hello", "--lessons", str(mine.resolve())]
    args = type("Args", (), {"lesson": "hello", "lessons": mine, "live": False})
    assert app_command(args).endswith(f"--lessons {shlex.quote(str(mine.resolve()))}")


def test_a_lesson_that_cannot_open_stops_the_server_before_it_starts(capsys, tmp_path):
    assert main(["serve", "--lesson", "no-such-lesson"]) == 2
    assert main(["serve", "--lesson", "quota", "--lessons", str(tmp_path)]) == 2
    assert main(["serve", "--lessons", str(tmp_path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("raftviz: error: no lesson named 'no-such-lesson'")
    assert err[1].startswith("raftviz: error: no lesson named 'quota'")
    assert err[2] == "raftviz: error: --lessons needs --lesson NAME"
