"""The clients: they write unique payloads and read through ReadIndex, and retry elsewhere.

Each client does one operation at a time at a node of its choosing. A write is
acknowledged when its entry is applied on the node it was proposed to (as etcd answers a
put); a read is answered when the node hands out the ReadState for its context. Whatever
goes wrong (no leader, the node is down, the proposal or its answer is lost) ends in a
retry with a fresh payload at another node, after a short backoff or a timeout.

The highest acknowledged write index is the floor every later read must reach.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from engine.raft import ProposalDropped, Ready

from .events import ClientOp, ClientTimeout, ClientWake, Note
from .params import TICK


@dataclass(slots=True)
class Client:
    id: int
    op: int = 0               # number of the operation in flight (0: idle)
    node: int = 0
    key: bytes = b""          # the payload of a write, the context of a read
    is_read: bool = False
    started: int = 0
    floor: int = 0            # for a read: the acknowledged index when it started
    avoid: int = 0            # the node that just failed us: try another one first


class Workload:
    def __init__(self, world, rng: random.Random) -> None:
        p = world.params
        self.world = world
        self.rng = rng
        self.params = p
        self.clients = [Client(i) for i in range(p.clients)]
        self.writes: list[dict[bytes, Client]] = [{} for _ in range(p.nodes + 1)]
        self.reads: list[dict[bytes, Client]] = [{} for _ in range(p.nodes + 1)]
        self.timeout = 2 * p.election_tick * TICK
        self.next_op = 0
        self.acked_index = 0        # highest index of an acknowledged write
        self.acked_writes = 0
        self.acked_reads = 0

    def start(self) -> None:
        for c in self.clients:
            self.world.schedule(self._think(), ClientWake(c.id))

    def _think(self) -> int:
        p = self.params
        return p.think_lo + int(self.rng.random() * p.think_span)

    # -- starting operations --

    def on_wake(self, ev: ClientWake) -> None:
        c = self.clients[ev.client]
        if c.op:
            return
        self.next_op += 1
        c.op, c.node = self.next_op, self._pick_node(c.avoid)
        # After healing only reads: the liveness probe must not queue behind new writes.
        c.is_read = self.rng.random() < self.params.read_ratio or self.world.heal_time is not None
        c.key = f"{'r' if c.is_read else 'w'}{c.id}.{c.op}".encode()
        c.started, c.floor = self.world.now, self.acked_index
        node = self.world.nodes[c.node]
        if not node.up:
            self._retry(c, backoff=TICK)
            return
        try:
            self._submit(c, node)
        except ProposalDropped:
            self._retry(c, backoff=TICK // 2)
            return
        self.world.note(ClientOp(c.id, c.key, c.node))
        self.world.schedule(self.timeout, ClientTimeout(c.id, c.op))
        self.world.node_changed(node)

    def _pick_node(self, avoid: int) -> int:
        n = self.params.nodes
        node = self.rng.randint(1, n - 1 if avoid and n > 1 else n)
        return node + 1 if avoid and n > 1 and node >= avoid else node

    def _submit(self, c: Client, node) -> None:
        if c.is_read:
            node.rawnode.read_index(c.key)
            self.reads[c.node][c.key] = c
        else:
            node.rawnode.propose(c.key)
            self.writes[c.node][c.key] = c

    def _retry(self, c: Client, backoff: int) -> None:
        self._forget(c)
        c.op, c.avoid = 0, c.node
        self.world.schedule(backoff + int(self.rng.random() * backoff), ClientWake(c.id))

    def _forget(self, c: Client) -> None:
        table = self.reads if c.is_read else self.writes
        table[c.node].pop(c.key, None)

    def on_timeout(self, ev: ClientTimeout) -> None:
        c = self.clients[ev.client]
        if c.op == ev.op:
            self.world.note(Note(f"client {c.id} gave up on {c.key.decode()} at {c.node}"))
            self._retry(c, backoff=1)

    def on_crash(self, node_id: int) -> None:
        # The connection broke: the clients learn at their timeout, as they would.
        self.writes[node_id].clear()
        self.reads[node_id].clear()

    # -- answers --

    def after_apply(self, node_id: int, rd: Ready, read_states: list) -> None:
        writes = self.writes[node_id]
        if writes and rd.committed_entries:
            for e in rd.committed_entries:
                c = writes.pop(e.data, None)
                if c is not None:
                    self._ack_write(c, e.index)
        if read_states:
            reads = self.reads[node_id]
            for rs in read_states:
                c = reads.pop(rs.request_ctx, None)
                if c is not None:
                    self._ack_read(c, rs.index)

    def _ack_write(self, c: Client, index: int) -> None:
        self.acked_index = max(self.acked_index, index)
        self.acked_writes += 1
        self._done(c)

    def _ack_read(self, c: Client, index: int) -> None:
        self.world.checker.on_read(c.node, c.key, index, c.floor)
        self.acked_reads += 1
        self._done(c)

    def _done(self, c: Client) -> None:
        c.op, c.avoid = 0, 0
        self.world.schedule(self._think(), ClientWake(c.id))
