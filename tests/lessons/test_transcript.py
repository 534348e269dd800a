"""The headless player's text, pinned: `raftviz lesson run ... --headless` as a transcript
(tests/transcript.py). After a deliberate change, `pytest --rewrite` writes the new text
back into headless.transcript; review the diff."""

from __future__ import annotations

import shlex
from pathlib import Path

from tests.transcript import run_transcript

from .helpers import raftviz

TRANSCRIPT = Path(__file__).with_name("headless.transcript")


def test_headless_transcript(monkeypatch, capsys, request):
    def run(command: str) -> str:
        words = shlex.split(command)
        assert words[0] == "raftviz"
        status = raftviz(monkeypatch, *words[1:])
        captured = capsys.readouterr()
        return f"{captured.out}{captured.err}exit {status}"

    run_transcript(TRANSCRIPT, run, request.config.getoption("--rewrite"))
