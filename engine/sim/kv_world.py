"""The deterministic world with the keyspace on every member, and clients that use it.

`KVWorld` is the Raft world (world.py: same seeded event queue, network, disks, nemesis,
Raft invariants, liveness after healing) with a `KVStore` as every SimNode's application
and the keyspace clients of kv_workload.py instead of raw payloads. What it adds:

- each member's clock runs at its own tick period (drift), in seconds, for leases;
- a member that becomes leader promotes its lessor (restarting every lease's clock, plus
  the election timeout), and on its ticks proposes revocations of expired leases;
- a proposal is delivered at most once (a duplicated MsgProp is dropped on arrival): TCP
  never hands etcd a proposal twice, and an entry proposed twice would be applied twice;
- a crash can tear the write in flight: a prefix of its entries reaches the disk;
- after the liveness goal the run settles (no new operations; leases may expire; every
  member catches up) before it ends, and kv_verify.py checks the result.
"""

from __future__ import annotations

import random

from engine.kv import KVConfig, min_lease_ttl
from engine.raft import Message, MessageType, StateType

from .host import SimNode, can_tear
from .kv_app import Decoded, KVAppFactory
from .kv_params import KVParams, PlantedBug
from .kv_workload import KVWorkload
from .params import TICK, SimParams
from .world import World

LEADER, PROP = StateType.LEADER, MessageType.PROP


class KVWorld(World):
    workload_class = KVWorkload

    def __init__(self, params: SimParams, kv_params: KVParams, text_trace: bool = False) -> None:
        self.kv_params = kv_params
        self.kv_config = KVConfig(min_lease_ttl=min_lease_ttl(params.election_tick, TICK))
        self.torn_rng = random.Random(f"torn/{params.seed}")
        self.decoded = Decoded()
        self.delivered_props: set[tuple[int, bytes]] = set()
        self.settle_until: int | None = None
        self.settled = False
        self.settle_timed_out = False
        self.last_promotion = 0
        self.torn_writes = 0
        super().__init__(params, text_trace)

    def _make_node(self, node_id: int) -> SimNode:
        p = self.params
        return SimNode(node_id, self.ids, p.node_params(), seed=p.seed * 1000 + node_id,
                       app_factory=KVAppFactory(self, node_id, self.kv_config, self.decoded))

    # -- hooks for the members' keyspaces --

    def node_seconds(self, node: int) -> float:
        """The member's own clock: it ticks every `tick_periods` time units, and a tick
        is a nominal 100 ms."""
        return self.now * TICK / self.params.tick_periods[node - 1] / 1000

    def on_applied(self, node: int, request_id: int, request, response, error) -> None:
        self.workload.on_applied(node, request_id, request, response, error)

    def role_changed(self, node_id: int, state: StateType) -> None:
        store = self.nodes[node_id].app.store
        if state is LEADER and not store.is_leader:
            self.last_promotion = self.now
            self._promote(node_id, store)
        elif state is not LEADER and store.is_leader:
            store.demote()

    def _promote(self, node_id: int, store) -> None:
        now = self.node_seconds(node_id)
        extend = self.params.election_tick * TICK / 1000
        if self.kv_params.bug is not PlantedBug.LEASE_NOT_EXTENDED:
            store.promote(now, extend)
            return
        # The planted bug: keep the deadlines this member computed when it applied each
        # grant, as if no keep-alive had happened since (they went to the old leader).
        store.promote(now, 0.0)
        deadlines = self.nodes[node_id].app.grant_deadlines
        for lease_id in store.lease_leases().leases:
            if lease_id in deadlines:
                ttl = store.lease_time_to_live(lease_id, now).granted_ttl
                store.lease_keepalive(lease_id, min(now, deadlines[lease_id] - ttl))

    # -- overrides of the Raft world --

    def _on_tick(self, ev) -> None:
        super()._on_tick(ev)
        node = self.nodes[ev.node]
        if node.up and self.kv_params.lease_clients and node.rawnode.raft.state is LEADER:
            self.workload.expire_leases(ev.node)

    def _on_message(self, m: Message) -> None:
        if m.type is PROP and m.entries:
            seen = (m.to, m.entries[0].data)
            if seen in self.delivered_props:
                return
            self.delivered_props.add(seen)
        super()._on_message(m)

    def crash(self, node_id: int) -> None:
        rd, node = self.inflight[node_id], self.nodes[node_id]
        if rd is not None and can_tear(rd, node.disk) and \
                self.torn_rng.random() < self.kv_params.torn_write_rate:
            # A torn write: part of the unsynced batch made it to the disk, never its hard
            # state (the WAL writes it last).
            node.persist_torn(rd, self.torn_rng.randint(1, len(rd.entries)))
            self.torn_writes += 1
        super().crash(node_id)

    # -- settling after the liveness goal --

    def _check_probe(self, rd) -> None:
        super()._check_probe(rd)
        if self.stopped and self.settle_until is None:
            self.stopped = False          # liveness is proven; now let the keyspace settle
            self.settle_until = self.now + self.kv_params.settle_ticks * TICK
            self.workload.quiet = True

    def _on_probe(self, ev) -> None:
        if self.settle_until is None:
            super()._on_probe(ev)
            return
        self.schedule(TICK, ev)
        # The nemesis stops re-adding voters once a leader shows a full configuration, but
        # a new leader may show one it has not finished applying: keep at it while settling.
        self.nemesis.restore_membership()
        converged = self._converged()
        if converged and not self.workload.busy() and \
                (not self._leases_left() or self.now >= self.settle_until):
            self.settled = True
        if self.settled or self.now >= self.settle_until:
            self.settle_timed_out = not converged
            self.workload.close_watches()
            self.stopped = True

    def _converged(self) -> bool:
        lead = self.leader()
        if lead is None:
            return False
        last = lead.rawnode.raft.raft_log.last_index()
        return all(n.up and n.applied == last and n.rawnode.raft.raft_log.committed == last
                   for n in self.nodes[1:])

    def _leases_left(self) -> bool:
        lead = self.leader()
        return lead is not None and bool(lead.app.store.lease_leases().leases)

    def describe_members(self) -> list[str]:
        lines = []
        for n in self.nodes[1:]:
            log = n.rawnode.raft.raft_log
            state = n.rawnode.raft.state.value if n.up else "down"
            lines.append(f"member {n.id}: {state}, applied {n.applied}, commit "
                         f"{log.committed}, last index {log.last_index()}")
        return lines
