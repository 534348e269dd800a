"""The deterministic world: one seeded event queue driving real SimNodes (RawNode inside).

Time is an integer; the queue holds (time, seq, event) and nothing else makes anything
happen, so a run is a pure function of its parameters (and those of the seed). The world
owns the Ready loop of every node, with a disk in the middle: a Ready that needs a sync is
taken, becomes durable `disk latency` later (`DiskSync`), and only then are its messages
sent and its entries applied; a crash in between loses it, as a real fsync would. Ready
without anything to sync are handled on the spot.

A run is a fault phase (the nemesis in faults.py), then `Heal`: every fault is undone
and the clients' new writes must commit within a bound, or the run reports a liveness
violation. The checker (invariants.py) sees every event; the first violation stops the
run with the last events before it. Every event is folded into a trace fingerprint, and
with `text_trace` also written out as a line, so two runs can be compared byte for byte.
"""

from __future__ import annotations

import hashlib
import random
from collections import deque
from dataclasses import dataclass
from heapq import heappop, heappush

from engine.raft import Message, MessageType, ProposalDropped, Ready, StateType

from .events import (
    EVENT_CODES, ClientTimeout, ClientWake, DiskSync, Heal, LivenessDeadline, LivenessProbe,
    Lost, NemesisAct, Note, Restart, Revert, SnapStatus, Synced, Tick, describe_event,
)
from .faults import Nemesis
from .host import SimNode
from .invariants import Checker, InvariantViolated
from .network import Network
from .params import TICK, SimParams
from .workload import Workload

RECENT = 20                  # events shown before a violation
MAX_EVENTS = 5_000_000       # a runaway guard; no sane run comes near it
MSG_CODES = {t: n for n, t in enumerate(MessageType)}
SNAP, APP = MessageType.SNAP, MessageType.APP


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: str
    detail: str
    time: int
    recent: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RunResult:
    params: SimParams
    events: int
    trace: str                    # hex digest of the run's event trace
    violation: Violation | None
    end_time: int
    recovery_ticks: int | None    # nominal ticks from healing to the liveness goal
    writes: int
    reads: int
    text: tuple[str, ...] | None = None


class World:
    workload_class = Workload       # the clients; the keyspace world (kv_world.py) brings its own

    def __init__(self, params: SimParams, text_trace: bool = False) -> None:
        self.params = params
        master = random.Random(params.seed)
        streams = [random.Random(master.getrandbits(64)) for _ in range(4)]
        self.disk_rng = streams[0]
        self.now = 0
        self.queue: list = []
        self.seq = 0
        self.events = 0
        self.fingerprint = 0
        self.ids = tuple(range(1, params.nodes + 1))
        # Indexed by node id; slot 0 stays empty so ids need no translation on hot paths.
        self.nodes: list = [None, *(self._make_node(i) for i in self.ids)]
        self.inflight: list[Ready | None] = [None] * (params.nodes + 1)
        self.disk_extra = [0] * (params.nodes + 1)
        self.checker = Checker(self.nodes)
        for node in self.nodes[1:]:
            node.on_apply = self.checker.on_apply
        self.network = Network(params, streams[1])
        self.workload = self.workload_class(self, streams[2])
        self.nemesis = Nemesis(self, streams[3])
        self.recent: deque = deque(maxlen=RECENT)
        self.text: list[str] | None = [] if text_trace else None
        self.heal_time: int | None = None
        self.recovered_at: int | None = None
        self.probe: tuple[int, bytes, int] | None = None   # (node, payload, give up at)
        self.probes_committed = 0
        self.snapshots_sent = 0
        self.stopped = False
        self.handlers = self._handlers()
        self._boot(master)

    def _handlers(self) -> dict:
        return {
            Tick: self._on_tick, Message: self._on_message, DiskSync: self._on_disk_sync,
            SnapStatus: self._on_snap_status, Restart: self._on_restart,
            ClientWake: self.workload.on_wake, ClientTimeout: self.workload.on_timeout,
            NemesisAct: self._on_nemesis, Revert: self.nemesis.revert, Heal: self._on_heal,
            LivenessDeadline: self._on_liveness_deadline, LivenessProbe: self._on_probe,
        }

    def _make_node(self, node_id: int) -> SimNode:
        p = self.params
        return SimNode(node_id, self.ids, p.node_params(), seed=p.seed * 1000 + node_id)

    def _boot(self, rng: random.Random) -> None:
        for i in self.ids:   # nodes boot at different moments within one tick
            self.schedule(rng.randint(1, self.params.tick_periods[i - 1]), Tick(i))
        self.workload.start()
        self.nemesis.start()
        self.schedule(self.params.fault_ticks * TICK, Heal())

    # -- the queue --

    def schedule(self, delay: int, ev: object) -> None:
        heappush(self.queue, (self.now + delay, self.seq, ev))
        self.seq += 1

    def note(self, note: object) -> None:
        """Remember something for a report (and the text trace), without making it an event."""
        self.recent.append((self.now, note))
        if self.text is not None:
            self.text.append(f"{self.now} {describe_event(note)}")

    def run(self, until: int | None = None) -> RunResult | None:
        """Run to the end, or only up to time `until`: the result once the run is over."""
        return self._run(until, MAX_EVENTS)

    def run_events(self, count: int) -> RunResult | None:
        """Run at most `count` more events, so a replay can stop after any single one:
        the result once the run is over, else None. Call it only while not `finished()`."""
        return self._run(None, self.events + count)

    def _run(self, until: int | None, pause_at: int) -> RunResult | None:
        try:
            self._loop(until, pause_at)
            if not self.finished():       # paused at `until` or at event `pause_at`
                if until is not None:
                    self.now = max(self.now, until)
                return None
            violation = None
        except InvariantViolated as v:
            violation = self._violation(v.invariant, v.detail)
        except AssertionError as e:          # the Raft core caught itself in a bad state
            violation = self._violation("raft-assertion", str(e) or repr(e))
        except Exception as e:               # noqa: BLE001 - any crash is a finding to report
            violation = self._violation("exception", f"{type(e).__name__}: {e}")
        self.stopped = True
        return self._result(violation)

    def finished(self) -> bool:
        return self.stopped or not self.queue

    def _loop(self, until: int | None, pause_at: int) -> None:
        queue, handlers, codes = self.queue, self.handlers, EVENT_CODES
        recent, text = self.recent, self.text
        limit = until if until is not None else 1 << 62
        while queue and not self.stopped and queue[0][0] <= limit and self.events < pause_at:
            t, _, ev = heappop(queue)
            self.now = t
            self.events += 1
            if type(ev) is Message:
                self.fingerprint = hash((self.fingerprint, t, ev.frm, ev.to, MSG_CODES[ev.type],
                                         ev.term, ev.log_term, ev.index, ev.commit,
                                         len(ev.entries), ev.reject))
            else:
                self.fingerprint = hash((self.fingerprint, t, codes[type(ev)], ev))
            if type(ev) is Message or type(ev) is SnapStatus:
                recent.append((t, ev))   # the rest shows up as notes when it matters
            if text is not None:
                text.append(f"{t} {describe_event(ev)}")
            handlers[type(ev)](ev)
            if self.events >= MAX_EVENTS:
                raise InvariantViolated("runaway", f"{MAX_EVENTS} events without an end")

    # -- driving nodes --

    def node_changed(self, node: SimNode) -> None:
        """Something was fed to `node`: check it, and start its next Ready if it may."""
        self.checker.after_event(node)
        if self.inflight[node.id] is None and node.up:
            self._drive(node)

    def _drive(self, node: SimNode) -> None:
        rawnode = node.rawnode
        while rawnode.has_ready():
            rd = rawnode.ready()
            if rd.must_sync:
                p = self.params
                self.inflight[node.id] = rd
                delay = p.disk_lo + int(self.disk_rng.random() * p.disk_span)
                self.schedule(delay + self.disk_extra[node.id], DiskSync(node.id, node.restarts))
                return
            self._complete(node, rd)

    def _complete(self, node: SimNode, rd: Ready) -> None:
        """The Ready is durable: persist it, send its messages, apply it, advance."""
        node.persist(rd)
        self.recent.append((self.now, Synced(node.id, rd)))
        self.checker.on_persist(node, rd)
        if rd.messages:
            self._send(node, rd.messages)
        node.apply(rd)
        read_states = node.read_states
        if read_states:
            node.read_states = []
        self.workload.after_apply(node.id, rd, read_states)
        if self.probe is not None and self.probe[0] == node.id and rd.committed_entries:
            self._check_probe(rd)

    def _send(self, node: SimNode, msgs: list[Message]) -> None:
        arrivals, queue, now = self.network.arrivals, self.queue, self.now
        for m in msgs:
            times = arrivals(m, now)
            if times is None:
                self._unreachable(node, m)
                continue
            if not times:
                self.recent.append((now, Lost(m, "drop")))
            for t in times:
                heappush(queue, (t, self.seq, m))
                self.seq += 1
            if m.type is SNAP:
                self.snapshots_sent += 1
                ok = bool(times)
                delay = times[0] - now if ok else TICK
                self.schedule(delay, SnapStatus(node.id, m.to, ok, node.restarts))

    def _unreachable(self, node: SimNode, m: Message) -> None:
        """The link is cut: the transport notices, as etcd's does, and tells Raft."""
        self.recent.append((self.now, Lost(m, "cut")))
        if m.type is SNAP:
            self.schedule(TICK, SnapStatus(node.id, m.to, False, node.restarts))
        elif m.type is APP:
            node.rawnode.report_unreachable(m.to)

    # -- handlers --

    def _on_tick(self, ev: Tick) -> None:
        nid = ev.node
        heappush(self.queue, (self.now + self.params.tick_periods[nid - 1], self.seq, ev))
        self.seq += 1
        node = self.nodes[nid]
        if node.up:
            node.rawnode.tick()
            self.node_changed(node)

    def _on_message(self, m: Message) -> None:
        node = self.nodes[m.to]
        if node.up:
            node.rawnode.step(m)
            self.node_changed(node)

    def _on_disk_sync(self, ev: DiskSync) -> None:
        node = self.nodes[ev.node]
        if not node.up or node.restarts != ev.incarnation:
            return   # the node crashed before the write became durable: it is lost
        rd, self.inflight[ev.node] = self.inflight[ev.node], None
        self._complete(node, rd)
        self.node_changed(node)

    def _on_snap_status(self, ev: SnapStatus) -> None:
        node = self.nodes[ev.node]
        if node.up and node.restarts == ev.incarnation:
            node.rawnode.report_snapshot(ev.peer, ev.ok)
            self.node_changed(node)

    def _on_restart(self, ev: Restart) -> None:
        if self.heal_time is None:
            self.restart(ev.node)

    def _on_nemesis(self, ev: NemesisAct) -> None:
        if self.heal_time is None:
            self.nemesis.act()
        elif self.nemesis.restore_membership():
            self.schedule(5 * TICK, NemesisAct())

    # -- healing and liveness --

    def _on_heal(self, ev: Heal) -> None:
        self.heal_time = self.now
        self.note(Note("heal: every fault ends; liveness is measured from here"))
        self.nemesis.heal()
        self.schedule(TICK, NemesisAct())
        self.schedule(TICK, LivenessProbe())
        self.schedule(self.params.liveness_ticks * TICK, LivenessDeadline())

    def _on_probe(self, ev: LivenessProbe) -> None:
        """Propose a probe at the leader; retry elsewhere if it has not committed in time."""
        self.schedule(TICK, ev)
        if self.probe is not None and self.now < self.probe[2]:
            return
        self.probe = None
        lead = self.leader()
        if lead is None:
            return
        key = f"probe.{self.probes_committed}.{self.now}".encode()
        try:
            lead.rawnode.propose(key)
        except ProposalDropped:
            return
        self.probe = (lead.id, key, self.now + 2 * self.params.election_tick * TICK)
        self.node_changed(lead)

    def _check_probe(self, rd: Ready) -> None:
        key = self.probe[1]
        if any(e.data == key for e in rd.committed_entries):
            self.probe = None
            self.probes_committed += 1
            if self.probes_committed >= self.params.liveness_writes:
                self.recovered_at = self.now
                self.stopped = True

    def _on_liveness_deadline(self, ev: LivenessDeadline) -> None:
        if self.recovered_at is None:
            p = self.params
            lead = self.leader()
            raise InvariantViolated(
                "liveness", f"{self.probes_committed} of {p.liveness_writes} probe writes "
                f"committed within {p.liveness_ticks} ticks of healing (leader: "
                f"{lead.id if lead else 'none'}; {self._describe_nodes()})")

    # -- node faults --

    def crash(self, node_id: int) -> None:
        node = self.nodes[node_id]
        node.crash()
        self.inflight[node_id] = None
        self.checker.on_crash(node)
        self.workload.on_crash(node_id)

    def restart(self, node_id: int) -> None:
        node = self.nodes[node_id]
        if node.up:
            return
        node.start()
        self.note(Note(f"restart {node_id} from disk: {node.disk.hard_state}, "
                       f"log up to {node.disk.last_index()}"))
        self.checker.on_restart(node)
        self.node_changed(node)

    # -- views --

    def leader(self) -> SimNode | None:
        """The up node that leads the highest term, if any."""
        best = None
        for node in self.nodes[1:]:
            r = node.rawnode.raft
            if node.up and r.state is StateType.LEADER and (best is None or r.term > best[0]):
                best = (r.term, node)
        return best[1] if best else None

    def _describe_nodes(self) -> str:
        parts = []
        for node in self.nodes[1:]:
            r = node.rawnode.raft
            state = r.state.value if node.up else "down"
            parts.append(f"{node.id}: {state} term {r.term} commit {r.raft_log.committed}")
        return ", ".join(parts)

    def _violation(self, invariant: str, detail: str) -> Violation:
        lines = tuple(f"t={t} {describe_event(ev)}" for t, ev in self.recent)
        return Violation(invariant, detail, self.now, lines)

    def _result(self, violation: Violation | None) -> RunResult:
        h = hashlib.blake2b(digest_size=16)
        h.update(f"{self.params.seed}/{self.params.nodes}/{self.events}/{self.fingerprint}/"
                 f"{violation.invariant if violation else ''}".encode())
        recovery = None
        if self.recovered_at is not None and self.heal_time is not None:
            recovery = (self.recovered_at - self.heal_time) // TICK
        return RunResult(
            params=self.params, events=self.events, trace=h.hexdigest(), violation=violation,
            end_time=self.now, recovery_ticks=recovery, writes=self.workload.acked_writes,
            reads=self.workload.acked_reads,
            text=tuple(self.text) if self.text is not None else None,
        )


def run_world(params: SimParams, text_trace: bool = False) -> RunResult:
    result = World(params, text_trace).run()
    assert result is not None
    return result
