"""The live cluster the LiveBackend test modules share: one per module, healed after each
test."""

from __future__ import annotations

import pytest

from engine import observe as o
from engine.observe import CommandRefused
from raftviz.live import LiveBackend

from .live_helpers import stable_leader


@pytest.fixture(scope="module")
def live():
    backend = LiveBackend.start(3, heartbeat_ms=50, election_ms=500)
    try:
        yield backend
    finally:
        backend.close()


@pytest.fixture
def healed(live):
    """The module's cluster with a leader, and healed again after the test."""
    stable_leader(live)
    yield live
    for command in (o.Heal(), o.Hold(False), o.PauseWorld(False)):
        try:
            live.execute(command)
        except CommandRefused:
            pass
    for node in live.view().nodes:
        if not node.up and not node.removed:
            live.execute(o.Restart(node.id))
