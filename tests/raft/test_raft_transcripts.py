"""Runs every Raft behaviour transcript in tests/raft/transcripts through the Stepper."""

from pathlib import Path

import pytest

from engine.sim.stepper import Stepper
from tests.transcript import run_transcript

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.txt"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=lambda p: p.stem)
def test_transcript(path, request):
    run_transcript(path, Stepper().run, request.config.getoption("--rewrite"))
