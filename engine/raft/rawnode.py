"""RawNode: the host-facing API of the Raft core, after etcd raft's RawNode.

The host loop is: feed time with `tick()` and network input with `step()`, submit work with
`propose*()`, `read_index()`, `transfer_leader()`; then, while `has_ready()`, take a
`ready()`, persist its entries, hard state and snapshot (fsync when `must_sync`), send its
messages, apply its committed entries, and call `advance(ready)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from .leader import conf_change_entry
from .progress import ProgressState
from .raft import Config, Raft
from .types import (
    NONE, ConfChange, ConfState, Entry, HardState, Message, MessageType as MT,
    ProposalDropped, Ready, SoftState, StateType, LOCAL_MESSAGES,
)


@dataclass(frozen=True, slots=True)
class PeerProgress:
    match: int
    next: int
    state: ProgressState
    is_learner: bool
    recent_active: bool
    inflight: int


@dataclass(frozen=True, slots=True)
class Status:
    id: int
    hard_state: HardState
    soft_state: SoftState
    applied: int
    last_index: int
    first_index: int
    lead_transferee: int
    conf_state: ConfState
    progress: dict[int, PeerProgress]   # empty unless leader


class RawNode:
    def __init__(self, config: Config) -> None:
        self.raft = Raft(config)
        self.prev_soft_state = self.raft.soft_state()
        self.prev_hard_state = self.raft.hard_state()

    # -- input --

    def tick(self) -> None:
        self.raft.tick()

    def campaign(self) -> None:
        self.raft.step(Message(MT.HUP, frm=self.raft.id))

    def propose(self, data: bytes) -> None:
        """Propose one entry. Raises ProposalDropped if it cannot be accepted now."""
        self.propose_many([data])

    def propose_many(self, datas: list[bytes]) -> None:
        """Propose a batch: it travels as one MsgProp and one MsgApp per follower."""
        self.raft.propose_entries([Entry(term=0, index=0, data=d) for d in datas])

    def propose_conf_change(self, cc: ConfChange) -> None:
        self.raft.propose_entries([conf_change_entry(cc)])

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        """Called by the host when it applies a committed configuration entry."""
        return self.raft.apply_conf_change(cc)

    def step(self, m: Message) -> None:
        """A message from the network. Local-only message types are refused."""
        if m.type in LOCAL_MESSAGES:
            raise ValueError(f"cannot step local message {m.type.value} from the network")
        if m.frm not in self.raft.prs.progress and m.type in (MT.APP_RESP, MT.HEARTBEAT_RESP,
                                                              MT.VOTE_RESP, MT.PRE_VOTE_RESP):
            return   # a response from a node that is not (or no longer) a member
        try:
            self.raft.step(m)
        except ProposalDropped:
            pass     # a forwarded proposal: its originator will time out and retry

    def transfer_leader(self, transferee: int) -> None:
        self.raft.step(Message(MT.TRANSFER_LEADER, frm=transferee))

    def read_index(self, ctx: bytes) -> None:
        """Ask for a linearizable read; a ReadState with ctx appears in a later Ready."""
        self.raft.step(Message(MT.READ_INDEX, frm=self.raft.id, context=ctx))

    def report_unreachable(self, node_id: int) -> None:
        self.raft.step(Message(MT.UNREACHABLE, frm=node_id))

    def report_snapshot(self, node_id: int, ok: bool) -> None:
        self.raft.step(Message(MT.SNAP_STATUS, frm=node_id, reject=not ok))

    # -- output --

    def has_ready(self) -> bool:
        # Field by field rather than building SoftState/HardState: called after every input.
        r, soft, hard = self.raft, self.prev_soft_state, self.prev_hard_state
        if r.lead != soft.lead or r.state is not soft.raft_state:
            return True
        if r.term != hard.term or r.vote != hard.vote or r.raft_log.committed != hard.commit:
            return True
        return bool(r.msgs or r.read_states or r.raft_log.unstable_entries
                    or r.raft_log.unstable_snapshot is not None
                    or r.raft_log.has_next_committed_entries())

    def ready(self) -> Ready:
        r = self.raft
        rd = Ready(
            entries=list(r.raft_log.unstable_entries),
            committed_entries=r.raft_log.next_committed_entries(),
            messages=r.msgs,
            read_states=r.read_states,
            snapshot=r.raft_log.unstable_snapshot,
        )
        soft, hard = r.soft_state(), r.hard_state()
        if soft != self.prev_soft_state:
            rd.soft_state = soft
        if hard != self.prev_hard_state:
            rd.hard_state = hard
        rd.must_sync = bool(rd.entries) or rd.snapshot is not None or (
            rd.hard_state is not None and (hard.term, hard.vote)
            != (self.prev_hard_state.term, self.prev_hard_state.vote))
        r.msgs, r.read_states = [], []
        return rd

    def advance(self, rd: Ready) -> None:
        """The host persisted, sent and applied everything in rd."""
        log = self.raft.raft_log
        if rd.soft_state is not None:
            self.prev_soft_state = rd.soft_state
        if rd.hard_state is not None:
            self.prev_hard_state = rd.hard_state
        if rd.snapshot is not None:
            log.stable_snap_to(rd.snapshot.metadata.index)
        if rd.entries:
            log.stable_to(rd.entries[-1].index, rd.entries[-1].term)
        if rd.committed_entries:
            log.applied_to(rd.committed_entries[-1].index)
        elif rd.snapshot is not None:
            log.applied_to(max(log.applied, rd.snapshot.metadata.index))

    # -- introspection --

    def status(self) -> Status:
        r = self.raft
        progress = {}
        if r.state is StateType.LEADER:
            progress = {i: PeerProgress(p.match, p.next, p.state, p.is_learner,
                                        p.recent_active, len(p.inflights.buffer))
                        for i, p in sorted(r.prs.progress.items())}
        return Status(
            id=r.id, hard_state=r.hard_state(), soft_state=r.soft_state(),
            applied=r.raft_log.applied, last_index=r.raft_log.last_index(),
            first_index=r.raft_log.first_index(), lead_transferee=r.lead_transferee,
            conf_state=r.prs.conf_state(), progress=progress,
        )

    @property
    def id(self) -> int:
        return self.raft.id

    @property
    def lead(self) -> int:
        return self.raft.lead if self.raft.lead != NONE else NONE
