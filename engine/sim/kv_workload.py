"""The keyspace clients' side of the world: requests in, answers out, history recorded.

Each client (KV, watch or lease; behaviours in kv_clients.py) has at most one operation
in flight at the member of its choosing, as a Jepsen process does. Writes are proposed
through Raft and answered when the proposing member applies them; linearizable reads go
through ReadIndex and are served once the member has applied up to the read index;
serializable reads are served at once from the member's state; lease keep-alives confirm
leadership with a ReadIndex round first (as etcd does before renewing). An operation with
no answer within the timeout stays open in the history: its outcome is unknown.

Leaders expire leases through the log (`expire_leases`, on their ticks); those revocations
are recorded as operations of a "leader N" client. Every invoke and completion gets a
stamp from `Recorder`: the world time in the high bits, an order within that time below.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from engine import check
from engine.kv import (
    KVError, LeaseRevokeRequest, PutRequest, RangeRequest, Request, Response,
)
from engine.raft import ProposalDropped, Ready, StateType

from .events import ClientTimeout, ClientWake
from .kv_app import to_response, wrap
from .kv_clients import KVClient, LeaseClient, WatchClient
from .kv_params import PlantedBug
from .params import TICK

STAMP_BITS = 20
STAMPS_PER_SECOND = 1000 << STAMP_BITS       # world time is in milliseconds
LEADER = StateType.LEADER


def show_stamp(stamp: int) -> str:
    return f"t={stamp >> STAMP_BITS}"


class Recorder:
    """The history, as the clients saw it."""

    def __init__(self, world) -> None:
        self.world = world
        self.calls: list[tuple[str, int, object]] = []        # (client, invoke, request)
        self.answers: dict[int, tuple[int, object]] = {}      # handle -> (complete, response)
        self._time, self._seq = -1, 0

    def stamp(self) -> int:
        now = self.world.now
        if now != self._time:
            self._time, self._seq = now, 0
        self._seq += 1
        return (now << STAMP_BITS) | self._seq

    def invoke(self, client: str, request: object) -> int:
        self.calls.append((client, self.stamp(), request))
        return len(self.calls) - 1

    def complete(self, handle: int, response: object) -> None:
        self.answers[handle] = (self.stamp(), response)

    def operations(self) -> list[check.Operation]:
        """Everything recorded; calls never answered have an unknown outcome."""
        ops = []
        for n, (client, invoke, request) in enumerate(self.calls):
            complete, response = self.answers.get(n, (None, None))
            ops.append(check.Operation(n, client, invoke, complete, request, response))
        return ops


@dataclass(slots=True)
class Pending:
    """One operation in flight at a member."""
    client: object | None            # None: the leader's own (lease expiry)
    op: int
    handle: int
    request: object                  # engine.kv request, or a lease id for keep-alives
    node: int
    tag: int = 0                     # request id (proposals) or ReadIndex context number
    index: int = -1                  # the read index, once known


@dataclass(slots=True)
class NodeTables:
    proposals: dict[int, Pending] = field(default_factory=dict)    # request id -> op
    reads: dict[bytes, Pending] = field(default_factory=dict)      # ReadIndex ctx -> op
    waiting: list[Pending] = field(default_factory=list)           # index known, not applied
    watches: dict[int, WatchClient] = field(default_factory=dict)  # watch id -> watcher


class KVWorkload:
    def __init__(self, world, rng: random.Random) -> None:
        p, kvp = world.params, world.kv_params
        self.world, self.rng, self.params, self.kvp = world, rng, p, kvp
        self.bug = kvp.bug
        self.history = Recorder(world)
        self.tables = [NodeTables() for _ in range(p.nodes + 1)]
        self.timeout = p.election_tick * TICK      # an election timeout, then try elsewhere
        self.next_tag = 0
        self.next_op = 0
        self.quiet = False                      # settling: no new KV or lease operations
        self.acked_writes = self.acked_reads = 0
        self.clients = [KVClient(i, f"c{i}") for i in range(p.clients)]
        self.clients += [WatchClient(len(self.clients) + i, f"w{i}") for i in range(kvp.watchers)]
        self.clients += [LeaseClient(len(self.clients) + i, f"l{i}")
                         for i in range(kvp.lease_clients)]

    def start(self) -> None:
        for c in self.clients:
            self.world.schedule(self.think(), ClientWake(c.id))

    @property
    def healing(self) -> bool:
        """Between healing and the liveness goal: the clients add nothing to the log."""
        return self.world.heal_time is not None

    def think(self) -> int:
        p = self.params
        return p.think_lo + int(self.rng.random() * p.think_span)

    # -- events --

    def on_wake(self, ev: ClientWake) -> None:
        c = self.clients[ev.client]
        if not c.op and not (self.quiet and not isinstance(c, WatchClient)):
            c.wake(self)

    def on_timeout(self, ev: ClientTimeout) -> None:
        c = self.clients[ev.client]
        if c.op == ev.op and c.pending is not None:
            self._forget(c.pending)
            c.op, c.pending, c.avoid = 0, None, c.node
            c.gave_up(self)
            self.retry(c, backoff=TICK // 2)

    def on_crash(self, node_id: int) -> None:
        """The member is gone: its clients learn at their timeouts; its watches break now."""
        t = self.tables[node_id]
        t.proposals.clear()
        t.reads.clear()
        t.waiting.clear()
        for watcher in list(t.watches.values()):
            watcher.broken(self)
        t.watches.clear()

    # -- starting operations (called by clients) --

    def begin(self, c, node: int, request: object) -> Pending:
        self.next_op += 1
        c.op, c.node = self.next_op, node
        handle = self.history.invoke(c.name, request)
        c.pending = Pending(c, c.op, handle, None, node)
        self.world.schedule(self.timeout, ClientTimeout(c.id, c.op))
        return c.pending

    def pick_node(self, avoid: int = 0) -> int:
        n = self.params.nodes
        node = self.rng.randint(1, n - 1 if avoid and n > 1 else n)
        return node + 1 if avoid and n > 1 and node >= avoid else node

    def propose(self, p: Pending, request: Request) -> None:
        p.request = request
        node = self.world.nodes[p.node]
        if not node.up:
            return self.finish(p, check.Failed("connection refused"))
        self.next_tag += 1
        p.tag = self.next_tag
        try:
            node.rawnode.propose(wrap(p.tag, request))
        except ProposalDropped:
            return self.finish(p, check.Failed("etcdserver: no leader"))
        self.tables[p.node].proposals[p.tag] = p
        if self.bug is PlantedBug.ACK_BEFORE_FSYNC and isinstance(request, PutRequest) \
                and node.rawnode.raft.state is LEADER:
            # The planted bug: answer once the entry is in the leader's (unsynced) log.
            self.tables[p.node].proposals.pop(p.tag)
            self.finish(p, check.Written(None))
        self.world.node_changed(node)

    def read_index(self, p: Pending, request: object) -> None:
        """Ask the member to confirm it may serve `request` (a read or a keep-alive)."""
        p.request = request
        node = self.world.nodes[p.node]
        if not node.up:
            return self.finish(p, check.Failed("connection refused"))
        if self.bug is PlantedBug.STALE_READ and isinstance(request, RangeRequest) \
                and node.rawnode.raft.state is LEADER:
            return self.serve(p)        # the planted bug: a leader trusts itself
        self.next_tag += 1
        ctx = self.next_tag.to_bytes(8, "big")
        self.tables[p.node].reads[ctx] = p
        node.rawnode.read_index(ctx)
        self.world.node_changed(node)

    def serve(self, p: Pending) -> None:
        """Answer from the member's own state, now."""
        node = self.world.nodes[p.node]
        if not node.up:
            return self.finish(p, check.Failed("connection refused"))
        store, req = node.app.store, p.request
        try:
            if isinstance(req, RangeRequest):
                response = to_response(store.range(req))
            else:
                ka = store.lease_keepalive(req, self.world.node_seconds(p.node))
                response = check.LeaseAlive(ka.ttl)
        except KVError as exc:
            response = check.Failed(str(exc))
        self.finish(p, response)

    def finish(self, p: Pending, response: object) -> None:
        self.history.complete(p.handle, response)
        c = p.client
        if c is None or c.pending is not p:
            return
        c.op, c.pending = 0, None
        if isinstance(response, check.Failed):
            c.avoid = p.node
        else:
            c.avoid = 0
            self.acked_reads += isinstance(response, check.Read)
            self.acked_writes += isinstance(response, (check.Written, check.TxnResult))
        c.done(self, p, response)

    def backoff(self, response: object) -> int:
        """Extra wait after a refusal, so clients do not spin while there is no leader."""
        if not isinstance(response, check.Failed):
            return 0
        return TICK // 2 + int(self.rng.random() * TICK)

    def retry(self, c, backoff: int) -> None:
        self.world.schedule(backoff + int(self.rng.random() * backoff), ClientWake(c.id))

    def _forget(self, p: Pending) -> None:
        t = self.tables[p.node]
        t.proposals.pop(p.tag, None)
        t.reads.pop(p.tag.to_bytes(8, "big"), None)
        if p in t.waiting:
            t.waiting.remove(p)

    # -- answers --

    def on_applied(self, node: int, tag: int, request: Request,
                   response: Response | None, error: KVError | None) -> None:
        p = self.tables[node].proposals.pop(tag, None)
        if p is not None:
            self.finish(p, to_response(response, request) if error is None
                        else check.Failed(str(error)))

    def after_apply(self, node_id: int, rd: Ready, read_states: list) -> None:
        t = self.tables[node_id]
        if rd.soft_state is not None:
            self.world.role_changed(node_id, rd.soft_state.raft_state)
        for rs in read_states:
            p = t.reads.pop(rs.request_ctx, None)
            if p is not None:
                p.index = rs.index
                t.waiting.append(p)
        if t.waiting:
            self._serve_waiting(node_id, t)
        if t.watches:
            self.deliver_watches(node_id)

    def _serve_waiting(self, node_id: int, t: NodeTables) -> None:
        applied = self.world.nodes[node_id].applied
        ready = [p for p in t.waiting if p.index <= applied]
        t.waiting = [p for p in t.waiting if p.index > applied]
        for p in ready:
            self.serve(p)

    def deliver_watches(self, node_id: int) -> None:
        t = self.tables[node_id]
        for watch_id, responses in self.world.nodes[node_id].app.store.drain_responses().items():
            watcher = t.watches.get(watch_id)
            if watcher is not None:
                watcher.received(self, responses)

    # -- the leader's lease clock --

    def expire_leases(self, node_id: int) -> None:
        node = self.world.nodes[node_id]
        for lease_id in node.app.store.expired_leases(self.world.node_seconds(node_id)):
            handle = self.history.invoke(f"leader {node_id}", check.LeaseExpire(lease_id))
            p = Pending(None, 0, handle, None, node_id)
            self.propose(p, LeaseRevokeRequest(lease_id))

    def busy(self) -> bool:
        return any(c.op for c in self.clients if not isinstance(c, WatchClient))

    def close_watches(self) -> None:
        """The run ends: every watcher hears how far it has been told everything."""
        for c in self.clients:
            if isinstance(c, WatchClient):
                c.final_progress(self)
