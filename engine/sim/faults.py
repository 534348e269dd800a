"""The fault injector (nemesis): what goes wrong during the fault phase, and healing.

At random intervals it picks a fault kind by the run's weights and applies it to the
world; most faults carry a duration and are undone by a `Revert` event. Network faults
are kept in the `Network` by fault id; crashes end in a `Restart`. Membership changes
and leader transfers are requests to the current leader, decided from what it shows (its
configuration), so they stay sensible whatever else happened. `heal()` ends everything
(message loss too) and restarts every node; `restore_membership()` then re-adds voters.
"""

from __future__ import annotations

import random

from engine.raft import ConfChange, ConfChangeType, ProposalDropped
from engine.raft.storage import Compacted, SnapshotOutOfDate, Unavailable

from .events import NemesisAct, Note, Restart, Revert
from .network import isolate, split
from .params import TICK

MAX_CUTS = 2


class Nemesis:
    def __init__(self, world, rng: random.Random) -> None:
        self.world = world
        self.rng = rng
        self.params = world.params
        self.ids = list(world.ids)
        weights = self.params.fault_weights
        self.kinds = [k for k, _ in weights]
        self.weights = [w for _, w in weights]
        self.next_fault = 0
        self.slow_disks: dict[int, int] = {}     # fault id -> node
        self.performed: dict[str, int] = {}      # fault kind -> times it took effect

    def start(self) -> None:
        if self.kinds:
            self.world.schedule(self._gap(), NemesisAct())

    def _gap(self) -> int:
        return self.params.nemesis_lo + int(self.rng.random() * self.params.nemesis_span)

    def _duration(self, lo_ticks: int, hi_ticks: int) -> int:
        return self.rng.randint(lo_ticks * TICK, hi_ticks * TICK)

    def _new_fault(self, duration: int) -> int:
        self.next_fault += 1
        self.world.schedule(duration, Revert(self.next_fault))
        return self.next_fault

    def _cut(self, links: frozenset[tuple[int, int]]) -> int:
        """Start a cut of `links`; at most two cuts overlap (the oldest ends), or the
        cluster would spend the whole run in pieces."""
        net = self.world.network
        if len(net.cuts) >= MAX_CUTS:
            net.end_fault(min(net.cuts))
        fault = self._new_fault(self._duration(3, 40))
        net.cut_links(fault, links)
        return fault

    # -- acting --

    def act(self) -> None:
        if self.world.heal_time is not None:
            return
        kind = self.rng.choices(self.kinds, self.weights)[0]
        text = getattr(self, "_" + kind)()
        if text:
            self.performed[kind] = self.performed.get(kind, 0) + 1
            self.world.note(Note(f"nemesis: {text}"))
        self.world.schedule(self._gap(), NemesisAct())

    def _partition(self) -> str:
        ids = self.ids[:]
        self.rng.shuffle(ids)
        cut = self.rng.randint(1, len(ids) - 1)
        groups = [sorted(ids[:cut]), sorted(ids[cut:])]
        fault = self._cut(split(self.ids, groups))
        return f"partition {groups} (fault {fault})"

    def _isolate(self) -> str:
        node = self._pick_node(prefer_leader=1.0)
        fault = self._cut(isolate(self.ids, node))
        return f"isolate {node} (fault {fault})"

    def _bridge(self) -> str:
        """One node loses some peers but keeps others: a partial partition."""
        node = self._pick_node(prefer_leader=0.6)
        peers = [p for p in self.ids if p != node]
        lost = sorted(self.rng.sample(peers, self.rng.randint(1, len(peers))))
        fault = self._cut(isolate(self.ids, node, lost))
        return f"cut {node} from {lost} (fault {fault})"

    def _one_way(self) -> str:
        node = self._pick_node(prefer_leader=1.0)
        peers = [p for p in self.ids if p != node]
        lost = sorted(self.rng.sample(peers, self.rng.randint(1, len(peers))))
        fault = self._cut(isolate(self.ids, node, lost, one_way=True))
        return f"{node} cannot send to {lost} but hears them (fault {fault})"

    def _slow_node(self) -> str:
        node = self._pick_node(prefer_leader=0.6)
        extra = self.rng.randint(TICK, 15 * TICK)
        fault = self._new_fault(self._duration(5, 50))
        self.world.network.delay_node(fault, node, extra)
        return f"messages from {node} arrive {extra} late (fault {fault})"

    def _crash(self) -> str | None:
        up = [i for i in self.ids if self.world.nodes[i].up]
        # Mostly keep a quorum up; now and then take it away too.
        most = (len(self.ids) + 1) // 2 if self.rng.random() < 0.2 else (len(self.ids) - 1) // 2
        if len(self.ids) - len(up) >= max(1, most) or not up:
            return None
        node = self._pick_node(prefer_leader=1.0, among=up)
        self.world.crash(node)
        self.world.schedule(self._duration(1, self.params.max_downtime), Restart(node))
        return f"crash {node}"

    def _slow_disk(self) -> str:
        node = self._pick_node(prefer_leader=0.6)
        extra = self.rng.randint(TICK // 2, 20 * TICK)
        fault = self._new_fault(self._duration(5, 50))
        self.slow_disks[fault] = node
        self.world.disk_extra[node] = extra
        return f"disk of {node} takes {extra} longer (fault {fault})"

    def _transfer(self) -> str | None:
        lead = self.world.leader()
        if lead is None:
            return None
        voters = sorted(lead.conf_state().voters - {lead.id})
        if not voters:
            return None
        to = self.rng.choice(voters)
        lead.rawnode.transfer_leader(to)
        self.world.node_changed(lead)
        return f"ask leader {lead.id} to transfer to {to}"

    def _snapshot(self) -> str | None:
        node = self.world.nodes[self._pick_node(prefer_leader=1.0)]
        before = node.disk.snapshot().metadata.index
        if not node.up or node.applied <= before:
            return None
        try:
            node.snapshot_now()
        except (Compacted, SnapshotOutOfDate, Unavailable):
            return None
        return f"snapshot {node.id} at {node.disk.snapshot().metadata.index}"

    def _membership(self) -> str | None:
        """Remove a voter, re-add it (as voter or learner), promote a learner: one at a time."""
        lead = self.world.leader()
        if lead is None:
            return None
        cs = lead.conf_state()
        absent = [i for i in self.ids if i not in cs.voters and i not in cs.learners]
        if cs.learners:
            cc = ConfChange(ConfChangeType.ADD_NODE, min(cs.learners))
        elif absent:
            kind = self.rng.choice((ConfChangeType.ADD_NODE, ConfChangeType.ADD_LEARNER))
            cc = ConfChange(kind, absent[0])
        elif len(cs.voters) >= 3:
            cc = ConfChange(ConfChangeType.REMOVE_NODE, self.rng.choice(sorted(cs.voters)))
        else:
            return None
        return self.propose_conf_change(lead, cc)

    def propose_conf_change(self, lead, cc: ConfChange) -> str | None:
        try:
            lead.rawnode.propose_conf_change(cc)
        except ProposalDropped:
            return None
        self.world.node_changed(lead)
        return f"propose {cc.type.value} {cc.node_id} at leader {lead.id}"

    def _heal_net(self) -> str:
        self.world.network.heal()
        return "network heals"

    def _pick_node(self, prefer_leader: float, among: list[int] | None = None) -> int:
        choices = among if among is not None else self.ids
        lead = self.world.leader()
        bias = prefer_leader * self.params.leader_bias
        if lead is not None and lead.id in choices and self.rng.random() < bias:
            return lead.id
        return self.rng.choice(choices)

    # -- undoing --

    def revert(self, ev: Revert) -> None:
        self.world.network.end_fault(ev.fault)
        node = self.slow_disks.pop(ev.fault, None)
        if node is not None and node not in self.slow_disks.values():
            self.world.disk_extra[node] = 0

    def heal(self) -> None:
        self.world.network.heal(reliable=True)
        self.slow_disks.clear()
        for i in self.ids:
            self.world.disk_extra[i] = 0
            if not self.world.nodes[i].up:
                self.world.restart(i)

    def restore_membership(self) -> bool:
        """After healing: make every node a voter again, one change at a time.
        False once there is nothing left to do."""
        lead = self.world.leader()
        if lead is None:
            return True
        cs = lead.conf_state()
        missing = [i for i in self.ids if i not in cs.voters]
        if missing:
            text = self.propose_conf_change(lead, ConfChange(ConfChangeType.ADD_NODE, missing[0]))
            if text:
                self.world.note(Note(f"nemesis: {text}"))
        return bool(missing)
