"""The interactive simulator's world: nodes, clocks, disks and wire, moved one event at a time.

Nothing happens unless asked. The next event is always the earliest of: a message landing
(`Wire`), a disk sync finishing (a Ready that needed an fsync becomes durable `fsync_ms`
after it was taken; only then are its messages sent and its entries applied), or a node's
tick (each node ticks every 100 ms of its own clock, which may run fast or slow). `step()`
runs one event, `tick()` runs everything up to the next 100 ms boundary. The keyspace runs
on every node (`KeyspaceApp`); its results flow into the request tracker. A member whose
write is refused for lack of space raises the NOSPACE alarm through the log, as etcd does.
A world is plain data, so `copy.deepcopy` of it is a checkpoint.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from engine.kv import (
    AlarmAction, AlarmRequest, AlarmType, ErrorKind, KVConfig, KVError, LeaseGrantResponse,
    LeaseRevokeRequest, Request, Response,
)
from engine.observe import CommandRefused, MessageStatus
from engine.raft import Entry, Message, MessageType, ProposalDropped, Ready, StateType
from engine.raft.describe import describe_message

from .host import NodeParams, SimNode, can_tear
from .ui_client import format_error, format_response
from .ui_keyspace import KeyspaceApp, KeyspaceFactory, unwrap, wrap
from .ui_net import Flight, Wire
from .ui_requests import Trace, Tracker

TICK_MS = 100
ELECTION_TICK = 10


@dataclass(slots=True)
class Clock:
    """A node's clock: it ticks every 100 ms of its own time, `rate` per cent of real."""
    rate: int = 100
    base_time: int = 0
    base_ticks: int = 0
    ticks: int = 0

    def next_at(self) -> int:
        n = self.ticks - self.base_ticks + 1
        return self.base_time - (-n * TICK_MS * 100 // self.rate)

    def rebase(self, now: int) -> None:
        self.base_time, self.base_ticks = now, self.ticks

    def seconds(self) -> float:
        return self.ticks * TICK_MS / 1000


@dataclass(frozen=True, slots=True)
class Event:
    time: int
    order: int              # 0 disk sync, 1 arrival, 2 tick: the order at equal times
    key: int                # node id, or message id for an arrival


class World:
    def __init__(self, nodes: int, seed: int, quota_bytes: int | None = None,
                 pre_vote: bool = True, check_quorum: bool = True) -> None:
        if not 1 <= nodes <= 9:
            raise ValueError("a simulated cluster has 1 to 9 nodes")
        self.kv_config = KVConfig() if quota_bytes is None else \
            KVConfig(quota_backend_bytes=quota_bytes)
        self.seed, self.time = seed, 0
        self.wire = Wire(random.Random(seed))
        self.lease_rng = random.Random(seed * 31 + 7)
        self.tracker = Tracker()
        self.params = NodeParams(election_tick=ELECTION_TICK, pre_vote=pre_vote,
                                 check_quorum=check_quorum)   # read by nodes as they start
        self.fsync_ms = 0
        self.nodes: dict[int, SimNode] = {}
        self.clocks: dict[int, Clock] = {}
        self.paused: set[int] = set()
        self.removed: set[int] = set()
        self.syncing: dict[int, tuple[Ready, int]] = {}
        self.db_size: dict[int, int] = {}
        self.lease_ttls: dict[int, int] = {}
        self.torn: dict[int, int] = {}           # node -> index of the entry a crash tore
        self.nospace_due: set[int] = set()       # members to raise NOSPACE after applying
        self.applied_high: dict[int, int] = {}   # highest index a member ever applied (a
                                                 # restart re-applies the log from the start)
        self.last_client = 0                     # the trace of the last client line
        ids = tuple(range(1, nodes + 1))
        for node_id in ids:
            self.add_node(node_id, ids, ())

    def add_node(self, node_id: int, voters: tuple[int, ...], learners: tuple[int, ...]) -> None:
        self.nodes[node_id] = SimNode(
            node_id, voters, self.params, seed=self.seed * 100 + node_id, learners=learners,
            app_factory=KeyspaceFactory(self, node_id, self.kv_config))
        self.clocks[node_id] = Clock(base_time=self.time)
        self.db_size[node_id] = 0

    # -- looking things up --

    def node(self, node_id: int) -> SimNode:
        if node_id not in self.nodes:
            raise CommandRefused(f"There is no node {node_id}.")
        return self.nodes[node_id]

    def running(self, node_id: int) -> SimNode:
        """A node that is up and not removed, or a refusal saying why not."""
        n = self.node(node_id)
        if node_id in self.removed:
            raise CommandRefused(f"Node {node_id} was removed from the cluster.")
        if not n.up:
            raise CommandRefused(f"Node {node_id} is down; restart it first.")
        return n

    def live(self, node_id: int) -> bool:
        n = self.nodes.get(node_id)
        return n is not None and n.up and node_id not in self.removed

    def leader(self) -> SimNode | None:
        leaders = [n for i, n in self.nodes.items() if self.live(i)
                   and n.rawnode.raft.state is StateType.LEADER]
        return max(leaders, key=lambda n: n.rawnode.raft.term, default=None)

    def store(self, node_id: int):
        app = self.nodes[node_id].app
        assert isinstance(app, KeyspaceApp)
        return app.store

    def keyspace_node(self) -> int:
        """Whose keyspace to show: the leader's, else the most advanced running node's."""
        leader = self.leader()
        if leader is not None:
            return leader.id
        running = [n for i, n in self.nodes.items() if self.live(i)]
        best = max(running, key=lambda n: (n.applied, -n.id), default=None)
        return best.id if best else 0

    # -- the event queue --

    def next_event(self) -> Event | None:
        events = [Event(due, 0, i) for i, (_, due) in self.syncing.items()
                  if i not in self.paused]
        flight = self.wire.next_arrival(self.paused)
        if flight is not None:
            events.append(Event(flight.deliver_at, 1, flight.id))
        events += [Event(c.next_at(), 2, i) for i, c in self.clocks.items()
                   if self.live(i) and i not in self.paused]
        return min(events, key=lambda e: (e.time, e.order, e.key), default=None)

    def step(self) -> str:
        event = self.next_event()
        if event is None:
            raise CommandRefused("Nothing can happen: every node is down or paused.")
        return self.run(event)

    def tick(self) -> None:
        target = (self.time // TICK_MS + 1) * TICK_MS
        while (event := self.next_event()) is not None and event.time <= target:
            self.run(event)
        self.time = max(self.time, target)

    def run(self, event: Event) -> str:
        self.time = max(self.time, event.time)
        if event.order == 0:
            rd, _ = self.syncing.pop(event.key)
            self.finish_ready(event.key, rd)
            self.settle(event.key)
            return f"node {event.key} finished its disk sync"
        if event.order == 1:
            flight = self.wire.get(event.key)
            assert flight is not None
            return self.deliver(flight)
        self.tick_node(event.key)
        return f"node {event.key} ticked"

    def tick_node(self, node_id: int) -> None:
        self.clocks[node_id].ticks += 1
        n = self.nodes[node_id]
        n.rawnode.tick()
        if n.rawnode.raft.state is StateType.LEADER:
            self.expire_leases(node_id)
        self.settle(node_id)
        self.tracker.time_out(self.time)

    # -- messages --

    def send(self, msg: Message) -> None:
        self.wire.send(msg, self.time)

    def deliver(self, flight: Flight) -> str:
        m = flight.msg
        text = f"#{flight.id} {describe_message(m)}"
        if not self.live(m.to):
            why = "was removed" if m.to in self.removed else "is down"
            self.wire.finish(flight, MessageStatus.DROPPED, self.time, f"node {m.to} {why}")
            self.report_snapshot(m, ok=False)
            return f"dropped {text}: node {m.to} {why}"
        if self.wire.is_cut(m):
            self.wire.finish(flight, MessageStatus.DROPPED, self.time, self.wire.cut_note(m))
            self.report_snapshot(m, ok=False)
            return f"dropped {text}: {self.wire.cut_note(m)}"
        self.wire.finish(flight, MessageStatus.DELIVERED, self.time)
        self.nodes[m.to].rawnode.step(m)
        self.report_snapshot(m, ok=True)
        self.settle(m.to)
        return f"delivered {text}"

    def drop(self, flight: Flight, note: str) -> None:
        self.wire.finish(flight, MessageStatus.DROPPED, self.time, note)
        self.report_snapshot(flight.msg, ok=False)

    def report_snapshot(self, m: Message, ok: bool) -> None:
        """The transport tells a leader how sending a snapshot went, as etcd's does."""
        if m.type is MessageType.SNAP and self.live(m.frm):
            self.nodes[m.frm].rawnode.report_snapshot(m.to, ok)
            self.settle(m.frm)

    # -- the Ready loop --

    def settle(self, node_id: int) -> None:
        """Handle the node's Readies until it has none or one waits for its disk."""
        n = self.nodes[node_id]
        while n.up and node_id not in self.paused and node_id not in self.syncing:
            rd = n.take_ready()
            if rd is None:
                return
            if rd.must_sync and self.fsync_ms > 0:
                self.syncing[node_id] = (rd, self.time + self.fsync_ms)
                return
            self.finish_ready(node_id, rd)

    def finish_ready(self, node_id: int, rd: Ready) -> None:
        n = self.nodes[node_id]
        self.persist(node_id, rd)
        if rd.soft_state is not None:
            self.role_changed(node_id, rd.soft_state.raft_state)
        for m in rd.messages:
            self.send(m)
        n.apply(rd)
        if rd.hard_state is not None:
            self.tracker.committed(node_id, rd.hard_state.commit, self.term_at(n), self.time)
        self.after_apply(node_id)

    def persist(self, node_id: int, rd: Ready) -> None:
        self.nodes[node_id].persist(rd)
        self.appended(node_id, rd.entries)

    def persist_torn(self, node_id: int, rd: Ready) -> int | None:
        """The power fails while `rd` is being written: every entry but the last reaches
        the disk; the last record is torn (its checksum will not match at restart). The
        torn entry's index, or None if the write cannot be torn and is lost whole."""
        n = self.nodes[node_id]
        if not can_tear(rd, n.disk):
            return None
        kept = len(rd.entries) - 1
        n.persist_torn(rd, kept)
        self.appended(node_id, rd.entries[:kept])
        self.torn[node_id] = rd.entries[-1].index
        return self.torn[node_id]

    def appended(self, node_id: int, entries) -> None:
        for e in entries:
            carried = unwrap(e.data)
            if carried is not None:
                self.tracker.appended(node_id, carried[0], e.index, e.term, self.time)

    def term_at(self, n: SimNode):
        def term(index: int) -> int | None:
            try:
                return n.rawnode.raft.raft_log.term(index)
            except Exception:
                return None
        return term

    def role_changed(self, node_id: int, state: StateType) -> None:
        store = self.store(node_id)
        if state is StateType.LEADER:
            store.promote(self.clocks[node_id].seconds(), ELECTION_TICK * TICK_MS / 1000)
        elif store.is_leader:
            store.demote()

    def after_apply(self, node_id: int) -> None:
        n = self.nodes[node_id]
        store = self.store(node_id)
        self.tracker.watch_responses(node_id, store.drain_responses())
        self.tracker.overwritten(node_id, n.applied, self.time)
        self.serve_reads(node_id)
        self.db_size[node_id] = max(self.db_size[node_id], store.size_bytes)
        self.applied_high[node_id] = max(self.applied_high.get(node_id, 0), n.applied)
        if node_id in self.nospace_due:
            self.nospace_due.discard(node_id)
            self.raise_nospace(node_id)
        cs = n.conf_state()
        if node_id not in cs.voters and node_id not in cs.learners and cs.voters:
            self.removed.add(node_id)
            self.tracker.node_down(node_id, self.time)
            n.crash()

    def serve_reads(self, node_id: int) -> None:
        n = self.nodes[node_id]
        for rs in n.read_states:
            trace = self.tracker.get(int(rs.request_ctx.decode()))
            if trace is not None:
                trace.read_index = rs.index
        n.read_states = []
        for trace in self.tracker.waiting_reads(node_id, n.applied):
            self.answer_locally(trace, node_id)

    def answer_locally(self, trace: Trace, node_id: int) -> None:
        try:
            response = self.store(node_id).range(trace.request)
            trace.finish(self.time, format_response(response))
        except KVError as exc:
            trace.finish(self.time, format_error(exc), ok=False)

    # -- hooks for the keyspace (see ui_keyspace.Hooks) --

    def now(self, node: int) -> float:
        return self.clocks[node].seconds()

    def applied(self, node: int, entry: Entry, request_id: int, request: Request,
                response: Response | None, error: KVError | None, rev_before: int) -> None:
        if response is None and error is None:
            return   # replayed after a restart: applied before
        if isinstance(response, LeaseGrantResponse):
            self.lease_ttls[response.id] = response.ttl
        if error is not None and error.kind is ErrorKind.NO_SPACE and \
                entry.index > self.applied_high.get(node, 0) and \
                not self.store(node).alarms(AlarmType.NOSPACE):
            self.nospace_due.add(node)   # etcd: an entry refused for space raises the alarm
        revision = self.store(node).current_revision
        made = revision if revision != rev_before else 0
        answer = format_error(error) if error else format_response(response, request)
        self.tracker.applied(node, request_id, entry.index, entry.term, self.time, made,
                             answer, ok=error is None)

    # -- requests a member makes by itself --

    def propose_internal(self, node_id: int, line: str, request: Request) -> Trace:
        """Propose a request the member makes itself (no client), followed like any other."""
        trace = self.tracker.start(line, node_id, self.time, "log", request)
        try:
            self.nodes[node_id].rawnode.propose(wrap(trace.id, request))
        except ProposalDropped:
            trace.finish(self.time, "Error: etcdserver: no leader", ok=False)
        return trace

    def expire_leases(self, node_id: int) -> None:
        """The leader's lease clock: it revokes expired leases through the log."""
        for lease_id in self.store(node_id).expired_leases(self.clocks[node_id].seconds()):
            self.propose_internal(node_id, f"lease revoke {lease_id:x}  (expired)",
                                  LeaseRevokeRequest(lease_id))

    def raise_nospace(self, node_id: int) -> None:
        """The member raises the NOSPACE alarm through the log, so every member learns it
        (and refuses writes that would grow the store until someone disarms it)."""
        if self.live(node_id):
            self.propose_internal(node_id, "alarm raise NOSPACE  (quota)",
                                  AlarmRequest(AlarmAction.ACTIVATE, node_id,
                                               AlarmType.NOSPACE))
