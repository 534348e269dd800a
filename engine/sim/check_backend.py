"""`CheckReplay`: one seed of `raftviz check`, opened in the UI to step through.

It implements `engine.observe.Backend` over the very world `raftviz check` runs for that
seed (world.py, parameters from params.py, the planted-bug profile from campaign.py), so
the event numbers agree: the reproduction line of a failing check names the event at
which the invariant broke, and `GoTo` that event shows the moment it breaks, with the
invariant and its message in the note.

The seed owns the run: its faults, clients and timings are fixed, so the only commands
are the ones that move along it. `Step` runs one world event, `Tick` runs the events up
to the next tick boundary of cluster time, `GoTo` jumps to any event, and `Undo`/`Redo`
go one event back or forward (walking backwards from a violation is the point). Going
back rebuilds from the nearest checkpoint, a deep copy taken every few hundred events,
and runs forward from there: the world is deterministic, so the view is exact.
"""

from __future__ import annotations

import copy
from typing import Callable

from engine import observe as o
from engine.observe import Cap, ClientResult, ClusterView, CommandRefused
from engine.subscribers import Subscribers

from . import check_views as views
from .campaign import PLANTED_BUG
from .params import TICK, SimParams, derive_params
from .world import RunResult, World

CHECKPOINT_EVERY = 250
REPLAY_CAPABILITIES = frozenset({Cap.MANUAL_CLOCK, Cap.HISTORY})


def replay_params(seed: int, nodes: int, planted_bug: bool = False) -> SimParams:
    """The parameters `raftviz check` derives for this seed (campaign.run_seed's)."""
    return derive_params(seed, nodes, **(PLANTED_BUG if planted_bug else {}))


class CheckReplay:
    def __init__(self, seed: int, nodes: int = 3, planted_bug: bool = False) -> None:
        self.seed, self.size, self.planted_bug = seed, nodes, planted_bug
        self.params = replay_params(seed, nodes, planted_bug)
        # One plain run first, as the checker makes it: how long the run is, how it ends.
        self.outcome: RunResult = World(self.params).run()
        self.world, self.tap = World(self.params), views.Wiretap()
        self.checkpoints: dict[int, tuple[World, views.Wiretap]] = {0: self._copy()}
        self.subscribers = Subscribers()

    @classmethod
    def opened_at(cls, seed: int, nodes: int = 3, at: int | None = None,
                  planted_bug: bool = False) -> CheckReplay:
        """A replay standing at event `at` (clamped to the run), or at the start."""
        replay = cls(seed, nodes, planted_bug)
        if at:
            replay.execute(o.GoTo(min(at, replay.last_event)))
        return replay

    # -- the Backend protocol --

    @property
    def capabilities(self) -> frozenset[Cap]:
        return REPLAY_CAPABILITIES

    @property
    def event(self) -> int:
        return self.world.events

    @property
    def last_event(self) -> int:
        return self.outcome.events

    @property
    def violation_event(self) -> int | None:
        """The event during which the checker found the violation, if it does."""
        return self.outcome.events if self.outcome.violation is not None else None

    def view(self) -> ClusterView:
        w = self.world
        ids = w.ids
        return ClusterView(
            time=w.now, event=w.events, last_event=self.last_event, clock="manual",
            nodes=tuple(views.node_view(w, i) for i in ids),
            logs=tuple(views.log_view(w, i) for i in ids),
            messages=views.in_flight(w, self.tap), history=tuple(self.tap.history),
            network=views.network_view(w), keyspace=(), keyspace_node=0, revision=0,
            compact_revision=0, watches=(), leases=(), requests=(),
            capabilities=self.capabilities, note=self.note, seed=self.seed)

    def execute(self, command: o.Command) -> str:
        if isinstance(command, o.Step):
            return self._step(command.count)
        if isinstance(command, o.Tick):
            return self._tick(command.count)
        if isinstance(command, o.GoTo):
            return self._go_to(command.event)
        if isinstance(command, o.Undo):
            return self._undo()
        if isinstance(command, o.Redo):
            return self._redo()
        raise CommandRefused("This is a replay of a `raftviz check` run: its faults and "
                             "clients are the seed's, so time is all you can move.")

    def client(self, line: str, node: int = 0) -> ClientResult:
        raise CommandRefused("This replay runs the seed's own clients; it takes no "
                             "requests.")

    def key_history(self, key: str) -> tuple[o.KeyRevision, ...]:
        return ()   # the check world's clients write raw Raft payloads, not keys

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        return self.subscribers.subscribe(callback)

    def show_keyspace(self, shown: bool) -> None:
        """Every view is made from the world in memory: nothing to stop or catch up."""

    # -- what the note says --

    @property
    def note(self) -> str:
        last = self.tap.last
        if last is None:
            return self._opening()
        text = f"Event {last.number} at t={last.time}: {last.text}"
        if last.details:
            text += " (" + "; ".join(last.details) + ")"
        return text + self._ending()

    def _opening(self) -> str:
        flag = " --planted-bug" if self.planted_bug else ""
        return (f"Seed {self.seed} on {self.size} nodes, as `raftviz check{flag}` runs it: "
                f"{self.last_event} events, {self._verdict()}. Step runs one event, tick "
                f"runs to the next tick; undo and redo go one event back or forward.")

    def _verdict(self) -> str:
        v = self.outcome.violation
        if v is None:
            return "no invariant breaks"
        return f"the checker finds {v.invariant} at event {self.violation_event}"

    def _ending(self) -> str:
        """The run's end, said at its last event."""
        if self.world.events != self.last_event:
            return ""
        v = self.outcome.violation
        if v is None:
            return ". The run ends here: every invariant held and the cluster recovered."
        return f". VIOLATION of {v.invariant}, the checker stops the run here: {v.detail}"

    # -- moving along the run --

    def _step(self, count: int) -> str:
        self._refuse_at_end()
        self._advance(max(1, count))
        self._changed()
        return self.note

    def _tick(self, count: int) -> str:
        self._refuse_at_end()
        start = self.world.events
        boundary = (self.world.now // TICK + max(1, count)) * TICK
        while not self.world.finished() and self.world.queue[0][0] <= boundary:
            self._advance(1)
        self._changed()
        return f"Ran {self.world.events - start} events up to t={boundary}. {self.note}"

    def _go_to(self, event: int) -> str:
        if not 0 <= event <= self.last_event:
            raise CommandRefused(f"Events run from 0 to {self.last_event}.")
        self._go(event)
        return f"Now at event {event} of {self.last_event}. {self.note}"

    def _undo(self) -> str:
        if self.world.events == 0:
            raise CommandRefused("Nothing to undo: this is the start of the run.")
        undone = self.tap.last.text if self.tap.last else "the last event"
        self._go(self.world.events - 1)
        return f"Undid event {self.world.events + 1} ({undone}); now at event " \
               f"{self.world.events}."

    def _redo(self) -> str:
        self._refuse_at_end()
        self._go(self.world.events + 1)
        return f"Redid: {self.note}"

    def _refuse_at_end(self) -> None:
        if self.world.finished() or self.world.events >= self.last_event:
            raise CommandRefused(f"The run is over at event {self.last_event}: "
                                 f"{self._verdict()}. Undo or go to an earlier event.")

    def _go(self, event: int) -> None:
        start = max(k for k in self.checkpoints if k <= event)
        if not start <= self.world.events <= event:   # behind us: rebuild from a checkpoint
            self.world, self.tap = copy.deepcopy(self.checkpoints[start])
        self._advance(event - self.world.events)
        self._changed()

    def _advance(self, count: int) -> None:
        for _ in range(count):
            if self.world.finished():
                return
            self.tap.step(self.world)
            if self.world.events % CHECKPOINT_EVERY == 0:
                self.checkpoints.setdefault(self.world.events, self._copy())

    def _copy(self) -> tuple[World, views.Wiretap]:
        return copy.deepcopy((self.world, self.tap))

    def _changed(self) -> None:
        self.subscribers.notify()
