"""`SimBackend`: the deterministic, user-driven cluster behind `raftviz --sim`.

It implements `engine.observe.Backend` on the interactive world (ui_world.py): time moves
only when a command says so, and every command is recorded. The record is the session:
undo, redo and "go to event N" rebuild the world from the seed by replaying it, starting
from the nearest checkpoint (a deep copy taken every few commands), so any moment can be
revisited exactly. Executing a new command after an undo forks: the redo tail is dropped.
A session saves as a scenario file (seed, size, options, command lines) and loads back.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable

from engine import observe as o
from engine.observe import Cap, ClientResult, ClusterView, CommandRefused
from engine.subscribers import Subscribers

from . import ui_script, ui_views
from .ui_control import apply_command
from .ui_keyspace import request_name
from .ui_world import World

CHECKPOINT_EVERY = 16
# Checkpoints thin out with age, so a long session keeps about fifty of them: one every
# 16 events for the last 256, one every 256 for the last 8192, then one every 2048.
THINNING = ((256, 16), (8192, 256), (None, 2048))
SIM_CAPABILITIES = frozenset(Cap) - {Cap.PAUSE_WORLD}


class SimBackend:
    def __init__(self, nodes: int = 3, seed: int = 1, quota_bytes: int | None = None,
                 pre_vote: bool = True, check_quorum: bool = True) -> None:
        """`quota_bytes` sets every member's storage quota (etcd's default: 2 GiB);
        `pre_vote` and `check_quorum` the Raft options the members start with."""
        self.seed, self.size, self.quota_bytes = seed, nodes, quota_bytes
        self.pre_vote, self.check_quorum = pre_vote, check_quorum
        self.commands: list[o.Command] = []
        self.notes: list[str] = []
        self.cursor = 0
        self.world = World(nodes, seed, quota_bytes, pre_vote, check_quorum)
        self.checkpoints: dict[int, World] = {0: copy.deepcopy(self.world)}
        self.subscribers = Subscribers()

    # -- the Backend protocol --

    @property
    def capabilities(self) -> frozenset[Cap]:
        return SIM_CAPABILITIES

    def view(self) -> ClusterView:
        w = self.world
        node_id = w.keyspace_node()
        keys, revision, compact = ui_views.keyspace(w, node_id)
        pending, history = ui_views.messages(w)
        return ClusterView(
            time=w.time, event=self.cursor, last_event=len(self.commands), clock="manual",
            nodes=tuple(ui_views.node_view(w, i) for i in sorted(w.nodes)),
            logs=tuple(ui_views.log_view(w, i) for i in sorted(w.nodes)),
            messages=pending, history=history, network=ui_views.network_view(w),
            keyspace=keys, keyspace_node=node_id, revision=revision,
            compact_revision=compact, watches=w.tracker.watch_views(),
            leases=ui_views.leases(w, node_id, keys), requests=w.tracker.trace_views(),
            capabilities=self.capabilities, note=self.note, seed=self.seed,
            alarms=ui_views.alarms(w, node_id))

    def execute(self, command: o.Command) -> str:
        if isinstance(command, o.Undo):
            return self._undo()
        if isinstance(command, o.Redo):
            return self._redo()
        if isinstance(command, o.GoTo):
            return self._go_to(command.event)
        return self._record(command)

    def client(self, line: str, node: int = 0) -> ClientResult:
        self.execute(o.Client(line, node))
        recorded = self.commands[self.cursor - 1]
        assert isinstance(recorded, o.Client)
        trace = self.world.tracker.traces[self.world.last_client]
        return ClientResult(request_name(trace.id), recorded.node, trace.status,
                            trace.answer)

    def key_history(self, key: str) -> tuple[o.KeyRevision, ...]:
        return ui_views.key_history(self.world, key)

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        return self.subscribers.subscribe(callback)

    def show_keyspace(self, shown: bool) -> None:
        """Every view is made from the world in memory: nothing to stop or catch up."""

    # -- history --

    @property
    def note(self) -> str:
        return self.notes[self.cursor - 1] if self.cursor else \
            f"A fresh {self.size}-node cluster (seed {self.seed}). Tick to let it elect a leader."

    def _record(self, command: o.Command) -> str:
        try:
            note, recorded = apply_command(self.world, command)
        except CommandRefused:
            self._rebuild(self.cursor)   # whatever the refusal touched is undone
            raise
        del self.commands[self.cursor:], self.notes[self.cursor:]
        self.checkpoints = {k: v for k, v in self.checkpoints.items() if k <= self.cursor}
        self.commands.append(recorded)
        self.notes.append(note)
        self.cursor += 1
        if self.cursor % CHECKPOINT_EVERY == 0:
            self.checkpoints[self.cursor] = copy.deepcopy(self.world)
            self._thin_checkpoints()
        self._changed()
        return note

    def _thin_checkpoints(self) -> None:
        def keep(event: int) -> bool:
            age = len(self.commands) - event
            for within, every in THINNING:
                if within is None or age <= within:
                    return event % every == 0
            return False
        self.checkpoints = {k: v for k, v in self.checkpoints.items() if k == 0 or keep(k)}

    def _undo(self) -> str:
        if not self.cursor:
            raise CommandRefused("Nothing to undo: this is the start of the session.")
        undone = ui_script.command_line(self.commands[self.cursor - 1])
        self._go(self.cursor - 1)
        return f"Undid `{undone}`; now at event {self.cursor}."

    def _redo(self) -> str:
        if self.cursor >= len(self.commands):
            raise CommandRefused("Nothing to redo.")
        self._go(self.cursor + 1)
        return f"Redid `{ui_script.command_line(self.commands[self.cursor - 1])}`."

    def _go_to(self, event: int) -> str:
        if not 0 <= event <= len(self.commands):
            raise CommandRefused(f"Events run from 0 to {len(self.commands)}.")
        self._go(event)
        return f"Now at event {event} of {len(self.commands)}."

    def _go(self, event: int) -> None:
        self._rebuild(event)
        self._thin_checkpoints()
        self.cursor = event
        self._changed()

    def _rebuild(self, event: int) -> None:
        start = max(k for k in self.checkpoints if k <= event)
        world = copy.deepcopy(self.checkpoints[start])
        for index in range(start, event):
            apply_command(world, self.commands[index])
            if (index + 1) % CHECKPOINT_EVERY == 0:
                self.checkpoints.setdefault(index + 1, copy.deepcopy(world))
        self.world = world

    def _changed(self) -> None:
        self.subscribers.notify()

    # -- scenario files --

    def scenario(self, upto: int | None = None) -> ui_script.Scenario:
        commands = self.commands if upto is None else self.commands[:upto]
        return ui_script.Scenario(self.seed, self.size, tuple(commands), self.quota_bytes,
                                  self.pre_vote, self.check_quorum)

    def save(self, path: str | Path) -> str:
        ui_script.write_file(path, self.scenario())
        return f"Saved {len(self.commands)} commands (seed {self.seed}) to {path}."

    @classmethod
    def from_scenario(cls, scenario: ui_script.Scenario, at: int | None = None) -> SimBackend:
        """A session holding the scenario's commands, opened at event `at` (default: the
        end); the rest stays available to redo."""
        backend = cls(scenario.nodes, scenario.seed, scenario.quota_bytes,
                      scenario.pre_vote, scenario.check_quorum)
        for number, command in enumerate(scenario.commands, 1):
            try:
                backend.execute(command)
            except CommandRefused as exc:
                line = ui_script.command_line(command)
                raise ui_script.ScriptError(f"command {number} `{line}`: {exc}") from None
        if at is not None:
            backend.execute(o.GoTo(max(0, min(at, len(backend.commands)))))
        return backend

    @classmethod
    def load(cls, path: str | Path, at: int | None = None) -> SimBackend:
        return cls.from_scenario(ui_script.read_file(path), at)
