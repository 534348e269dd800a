"""A hand-driven cluster: every Ready, message and tick happens only when asked for.

This is the environment behind the Raft behaviour transcripts (tests/raft/*.txt): a line
such as `propose 1 x` or `stabilize` runs, and what the nodes did comes back as text in the
one form of `engine.raft.describe`. No clock and no randomness beyond each node's seeded
election jitter, so the same script always prints the same thing.
"""

from __future__ import annotations

import shlex
from typing import Callable

from engine.raft import (
    ConfChange, ConfChangeType, Message, ProposalDropped, describe_message, describe_ready,
)
from engine.raft.describe import describe_entry, describe_hard_state
from .host import NodeParams, SimNode


class CommandError(Exception):
    """A malformed or impossible command in a script."""


class Stepper:
    def __init__(self) -> None:
        self.nodes: dict[int, SimNode] = {}
        self.inbox: dict[int, list[tuple[Message, bool]]] = {}   # (message, lost)
        self.cut: set[tuple[int, int]] = set()   # (from, to) pairs that lose messages

    # -- the command language --

    def run(self, line: str) -> str:
        words = shlex.split(line)
        if not words:
            return ""
        name, args = words[0], words[1:]
        handler: Callable | None = getattr(self, "cmd_" + name.replace("-", "_"), None)
        if handler is None:
            raise CommandError(f"unknown command {name!r}")
        positional = [a for a in args if "=" not in a]
        options = dict(a.split("=", 1) for a in args if "=" in a)
        return handler(*positional, **options) or ""

    def node(self, word: str) -> SimNode:
        try:
            return self.nodes[int(word)]
        except (ValueError, KeyError):
            raise CommandError(f"no node {word!r}") from None

    # -- building the cluster --

    def cmd_add_nodes(self, count: str, voters: str = "", learners: str = "",
                      **options: str) -> str:
        first = max(self.nodes, default=0) + 1
        ids = list(range(first, first + int(count)))
        voter_ids = _ids(voters) if voters else tuple(ids)
        learner_ids = _ids(learners)
        params = NodeParams(**{k.replace("-", "_"): _value(v) for k, v in options.items()})
        for node_id in ids:
            self.nodes[node_id] = SimNode(node_id, voter_ids, params, seed=node_id,
                                          learners=learner_ids)
            self.inbox[node_id] = []
        return ""

    # -- input to the nodes --

    def cmd_campaign(self, node_id: str) -> str:
        self.node(node_id).rawnode.campaign()

    def cmd_propose(self, node_id: str, *data: str) -> str:
        try:
            self.node(node_id).rawnode.propose_many([d.encode() for d in data])
        except ProposalDropped as e:
            return f"dropped: {e}"

    def cmd_propose_conf_change(self, node_id: str, kind: str, target: str) -> str:
        kinds = {"add": ConfChangeType.ADD_NODE, "remove": ConfChangeType.REMOVE_NODE,
                 "add-learner": ConfChangeType.ADD_LEARNER}
        if kind not in kinds:
            raise CommandError(f"unknown conf change {kind!r}")
        try:
            self.node(node_id).rawnode.propose_conf_change(ConfChange(kinds[kind], int(target)))
        except ProposalDropped as e:
            return f"dropped: {e}"

    def cmd_tick(self, node_id: str, count: str = "1") -> str:
        n = self.node(node_id)
        for _ in range(int(count)):
            n.rawnode.tick()

    def cmd_tick_heartbeat(self, node_id: str) -> str:
        return self.cmd_tick(node_id, str(self.node(node_id).params.heartbeat_tick))

    def cmd_tick_election(self, node_id: str) -> str:
        r = self.node(node_id).rawnode.raft
        return self.cmd_tick(node_id, str(r.randomized_election_timeout - r.election_elapsed))

    def cmd_transfer_leader(self, node_id: str, to: str) -> str:
        self.node(node_id).rawnode.transfer_leader(int(to))

    def cmd_read_index(self, node_id: str, ctx: str) -> str:
        self.node(node_id).rawnode.read_index(ctx.encode())

    def cmd_snapshot(self, node_id: str) -> str:
        n = self.node(node_id)
        n.snapshot_now()
        return f"snapshot at {n.disk.snapshot().metadata.index}, log from {n.disk.first_index()}"

    # -- faults --

    def cmd_crash(self, node_id: str) -> str:
        n = self.node(node_id)
        n.crash()
        self.inbox[n.id] = []

    def cmd_restart(self, node_id: str) -> str:
        self.node(node_id).start()

    def cmd_cut(self, *pairs: str) -> str:
        """`cut 1-2` loses messages both ways, `cut 1>2` only from 1 to 2."""
        for pair in pairs:
            if ">" in pair:
                a, b = pair.split(">")
                self.cut.add((int(a), int(b)))
            else:
                a, b = pair.split("-")
                self.cut |= {(int(a), int(b)), (int(b), int(a))}

    def cmd_isolate(self, node_id: str) -> str:
        n = int(node_id)
        for other in self.nodes:
            if other != n:
                self.cut |= {(n, other), (other, n)}

    def cmd_heal(self) -> str:
        self.cut.clear()

    # -- moving the world --

    def cmd_process_ready(self, *ids: str) -> str:
        out = []
        for n in self._selected(ids):
            rd = n.take_ready()
            if rd is None:
                continue
            n.persist(rd)
            n.apply(rd)
            out.append(f"> {n.id} handling Ready")
            out.append(_indent(describe_ready(rd)))
            for m in rd.messages:
                # A message sent across a cut is lost even if the cut heals before delivery.
                self.inbox.setdefault(m.to, []).append((m, (m.frm, m.to) in self.cut))
        return "\n".join(out)

    def cmd_deliver_msgs(self, *ids: str, drop: str = "") -> str:
        out = []
        for n in self._selected(ids):
            msgs, self.inbox[n.id] = self.inbox.get(n.id, []), []
            if not msgs:
                continue
            out.append(f"> {n.id} receiving messages")
            for m, lost in msgs:
                if lost or drop or not n.up or (m.frm, m.to) in self.cut:
                    out.append(f"  {describe_message(m)} DROPPED")
                    continue
                out.append(f"  {describe_message(m)}")
                n.rawnode.step(m)
        return "\n".join(out)

    def cmd_stabilize(self, *ids: str) -> str:
        out = []
        while True:
            step = [self.cmd_process_ready(*ids), self.cmd_deliver_msgs(*ids)]
            step = [s for s in step if s]
            if not step:
                return "\n".join(out)
            out += step

    # -- looking --

    def cmd_raft_state(self) -> str:
        lines = []
        for n in self.nodes.values():
            if not n.up:
                lines.append(f"{n.id}: down")
                continue
            st = n.rawnode.status()
            kind = "Learner" if n.id in st.conf_state.learners else (
                "Voter" if n.id in st.conf_state.voters else "Removed")
            lines.append(f"{n.id}: {st.soft_state.raft_state.value} ({kind}) "
                         f"Term:{st.hard_state.term} Lead:{st.soft_state.lead}")
        return "\n".join(lines)

    def cmd_status(self, node_id: str) -> str:
        st = self.node(node_id).rawnode.status()
        lines = [describe_hard_state(st.hard_state) + f" Applied:{st.applied}"
                 + f" Log:[{st.first_index}, {st.last_index}]"]
        for peer, p in st.progress.items():
            extra = " learner" if p.is_learner else ""
            lines.append(f"{peer}: {p.state.value} match={p.match} next={p.next}"
                         f" inflight={p.inflight}{extra}")
        return "\n".join(lines)

    def cmd_raft_log(self, node_id: str) -> str:
        n = self.node(node_id)
        log = n.rawnode.raft.raft_log
        entries = log.slice(log.first_index(), log.last_index() + 1)
        return "\n".join(describe_entry(e) for e in entries) or "log is empty"

    def cmd_read_states(self, node_id: str) -> str:
        n = self.node(node_id)
        states, n.read_states = n.read_states, []
        return "\n".join(f"index={s.index} ctx={s.request_ctx.decode()}" for s in states)

    def _selected(self, ids: tuple[str, ...]) -> list[SimNode]:
        return [self.node(i) for i in ids] if ids else list(self.nodes.values())


def _ids(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x)


def _value(text: str) -> int | bool:
    if text in ("true", "false"):
        return text == "true"
    return int(text)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
