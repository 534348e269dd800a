"""The interface's side of a backend: one place that talks to it, and what the user is doing.

`Session` runs commands and client lines (turning refusals into plain sentences instead of
exceptions), remembers whether the cluster changed since the last repaint (a backend's
`subscribe` callback only sets a flag and wakes the app, so a busy live cluster never
waits for the screen),
and keeps the interface's own state: playing or not, at what speed, which request is
followed, which key is selected.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from engine.observe import (
    Backend, Cap, ClientResult, ClusterView, Command, CommandRefused, KeyRevision,
)

SPEEDS = (1, 2, 5, 10, 20)   # ticks per second while playing


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    text: str


class Session:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.dirty = True
        self.playing = False
        self.speed_index = 2
        self.followed: str | None = None
        self.selected_key: str | None = None
        self.heartbeats = True
        self._view: ClusterView | None = None
        self.shown: ClusterView | None = None          # the view the widgets last got
        self.keyspace_shown: bool | None = None        # as last told to the backend
        self.wake: Callable[[], None] | None = None    # told when a change arrives
        self._unsubscribe = backend.subscribe(self.mark_dirty)

    # -- the backend --

    def mark_dirty(self) -> None:
        """Called by the backend, possibly often; must stay this cheap."""
        if not self.dirty:
            self.dirty = True
            if self.wake is not None:
                self.wake()

    def view(self) -> ClusterView:
        if self._view is None or self.dirty:
            self.dirty = False
            self._view = self.backend.view()
        return self._view

    @property
    def unshown(self) -> bool:
        """Is there news the widgets have not been shown? Not the same as `dirty`: any
        reader of `view()` (a command, a hint) takes the news into the cached view, and
        the widgets must still get it."""
        return self.dirty or self._view is not self.shown

    def has(self, cap: Cap) -> bool:
        return cap in self.backend.capabilities

    def execute(self, command: Command) -> Outcome:
        if not self.has(command.cap):
            return Outcome(False, "This cluster cannot do that: "
                                  f"{command.cap.value} is not available.")
        try:
            text = self.backend.execute(command)
        except CommandRefused as exc:
            return Outcome(False, str(exc))
        finally:
            self.dirty = True
        return Outcome(True, text)

    def client(self, line: str) -> ClientResult | Outcome:
        try:
            result = self.backend.client(line)
        except CommandRefused as exc:
            return Outcome(False, str(exc))
        finally:
            self.dirty = True
        self.followed = result.request_id
        return result

    def key_history(self, key: str) -> tuple[KeyRevision, ...]:
        return self.backend.key_history(key)

    def show_keyspace(self, shown: bool) -> None:
        """Tell the backend whether the keyspace is on screen, when that changes."""
        if shown != self.keyspace_shown:
            self.keyspace_shown = shown
            self.backend.show_keyspace(shown)

    def close(self) -> None:
        self._unsubscribe()

    # -- play --

    @property
    def speed(self) -> int:
        return SPEEDS[self.speed_index]

    def faster(self) -> int:
        self.speed_index = min(self.speed_index + 1, len(SPEEDS) - 1)
        return self.speed

    def slower(self) -> int:
        self.speed_index = max(self.speed_index - 1, 0)
        return self.speed
