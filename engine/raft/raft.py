"""The Raft state machine: terms, roles, elections and the follower/candidate side.

One `Raft` object is one node. It never does I/O: messages to send pile up in `msgs`, and
`RawNode` hands them out with entries to persist and to apply. The leader's side
(replication, commit, ReadIndex, leader transfer) lives in `leader.py` as a mixin so each
file stays about one role. Behaviour follows etcd raft: PreVote, CheckQuorum, TimeoutNow,
learners and single-step configuration changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Protocol

from .leader import LeaderMixin
from .log import RaftLog
from .progress import ProgressTracker
from .readonly import ReadOnly
from .storage import Storage
from .types import (
    NONE, ConfChange, ConfState, Entry, EntryType, HardState, Message, MessageType as MT,
    ProposalDropped, ReadState, SoftState, StateType, StepError, LOCAL_MESSAGES,
)

CAMPAIGN_TRANSFER = b"CampaignTransfer"


class Rand(Protocol):
    def randrange(self, stop: int) -> int: ...


@dataclass
class Config:
    id: int
    storage: Storage
    rng: Rand
    peers: tuple[int, ...] = ()           # initial voters when storage holds no config
    learners: tuple[int, ...] = ()
    election_tick: int = 10
    heartbeat_tick: int = 1
    applied: int = 0
    max_size_per_msg: int = 1 << 20
    max_inflight_msgs: int = 256
    max_committed_size_per_ready: int | None = None
    check_quorum: bool = True
    pre_vote: bool = True
    # A planted bug for proving the invariant checker (never set outside tests):
    # commit entries of an older term by counting replicas.
    unsafe_commit_old_terms: bool = False
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        if self.id <= NONE:
            raise ValueError("node id must be a positive integer")
        if self.heartbeat_tick <= 0:
            raise ValueError("heartbeat tick must be greater than 0")
        if self.election_tick <= self.heartbeat_tick:
            raise ValueError("election tick must be greater than heartbeat tick")
        if self.max_inflight_msgs <= 0:
            raise ValueError("max inflight messages must be greater than 0")


class Raft(LeaderMixin):
    def __init__(self, c: Config) -> None:
        c.validate()
        self.id = c.id
        self.cfg = c
        self.rng = c.rng
        self.raft_log = RaftLog(c.storage, c.max_committed_size_per_ready)
        self.prs = ProgressTracker(c.max_inflight_msgs)
        self.read_only = ReadOnly()
        self.pending_read_index: list[Message] = []   # reads waiting for a commit in this term
        self.msgs: list[Message] = []
        self.read_states: list[ReadState] = []
        self.term = 0
        self.vote = NONE
        self.lead = NONE
        self.state = StateType.FOLLOWER
        self.lead_transferee = NONE
        self.pending_conf_index = 0
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = c.election_tick
        self._restore_initial_state(c)

    def _restore_initial_state(self, c: Config) -> None:
        hs, cs = c.storage.initial_state()
        if not cs.voters and not cs.learners:
            cs = ConfState(frozenset(c.peers), frozenset(c.learners))
        self.prs.apply_conf(cs, self.raft_log.last_index() + 1)
        if hs != HardState():
            if not (self.raft_log.committed <= hs.commit <= self.raft_log.last_index()):
                raise ValueError(f"commit {hs.commit} is out of range "
                                 f"[{self.raft_log.committed}, {self.raft_log.last_index()}]")
            self.term, self.vote = hs.term, hs.vote
            self.raft_log.committed = hs.commit
        if c.applied:
            self.raft_log.applied_to(c.applied)
        self.become_follower(self.term, NONE)

    # -- views --

    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.raft_log.committed)

    def soft_state(self) -> SoftState:
        return SoftState(self.lead, self.state)

    def promotable(self) -> bool:
        return self.id in self.prs.voters

    def is_learner(self) -> bool:
        return self.id in self.prs.learners

    def past_election_timeout(self) -> bool:
        return self.election_elapsed >= self.randomized_election_timeout

    def send(self, m: Message) -> None:
        term, frm = m.term, m.frm
        if m.type in (MT.VOTE, MT.VOTE_RESP, MT.PRE_VOTE, MT.PRE_VOTE_RESP):
            if term == 0:
                raise AssertionError(f"term should be set when sending {m.type.value}")
        elif m.type not in (MT.PROP, MT.READ_INDEX):
            term = self.term   # proposals are forwarded without a term
        if frm == NONE:
            frm = self.id      # forwarded messages keep their origin
        if term != m.term or frm != m.frm:
            m = _stamp(m, term, frm)
        self.msgs.append(m)

    # -- role changes --

    def reset(self, term: int) -> None:
        if self.term != term:
            self.term = term
            self.vote = NONE
        self.lead = NONE
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = (
            self.cfg.election_tick + self.rng.randrange(self.cfg.election_tick))
        self.abort_leader_transfer()
        self.prs.reset_votes()
        last = self.raft_log.last_index()
        for node_id, pr in self.prs.progress.items():
            pr.become_probe()
            pr.match = last if node_id == self.id else 0
            pr.next = last + 1
            pr.recent_active = node_id == self.id
        self.pending_conf_index = 0
        self.read_only.reset()
        self.pending_read_index = []

    def become_follower(self, term: int, lead: int) -> None:
        self.reset(term)
        self.lead = lead
        self.state = StateType.FOLLOWER

    def become_pre_candidate(self) -> None:
        if self.state is StateType.LEADER:
            raise AssertionError("invalid transition [leader -> pre-candidate]")
        # PreVote changes neither term nor vote: a disruptive node learns it cannot win
        # before it bumps everyone's term.
        self.prs.reset_votes()
        self.lead = NONE
        self.state = StateType.PRE_CANDIDATE

    def become_candidate(self) -> None:
        if self.state is StateType.LEADER:
            raise AssertionError("invalid transition [leader -> candidate]")
        self.reset(self.term + 1)
        self.vote = self.id
        self.state = StateType.CANDIDATE

    # -- time --

    def tick(self) -> None:
        if self.state is StateType.LEADER:
            self.tick_heartbeat()
        else:
            self.tick_election()

    def tick_election(self) -> None:
        self.election_elapsed += 1
        if self.promotable() and self.past_election_timeout():
            self.election_elapsed = 0
            self.step(Message(MT.HUP, frm=self.id))

    # -- stepping --

    def step(self, m: Message) -> None:
        if m.term == 0:
            pass  # local message or forwarded proposal/read
        elif m.term > self.term:
            if not self._step_higher_term(m):
                return
        elif m.term < self.term:
            self._step_lower_term(m)
            return
        handler = _COMMON.get(m.type)
        if handler is not None:
            handler(self, m)
        elif self.state is StateType.LEADER:
            self.step_leader(m)
        elif self.state is StateType.FOLLOWER:
            self.step_follower(m)
        else:
            self.step_candidate(m)

    def _step_higher_term(self, m: Message) -> bool:
        """Handle a message from a newer term. False means: ignore it."""
        if m.type in (MT.VOTE, MT.PRE_VOTE):
            force = m.context == CAMPAIGN_TRANSFER
            in_lease = (self.cfg.check_quorum and self.lead != NONE
                        and self.election_elapsed < self.cfg.election_tick)
            if in_lease and not force:
                return False   # we heard from a live leader recently: don't be disrupted
        if m.type is MT.PRE_VOTE:
            return True        # answering a pre-vote never changes our term
        if m.type is MT.PRE_VOTE_RESP and not m.reject:
            return True        # our pre-vote succeeded at a future term; the vote will bump it
        lead = m.frm if m.type in (MT.APP, MT.HEARTBEAT, MT.SNAP) else NONE
        self.become_follower(m.term, lead)
        return True

    def _step_lower_term(self, m: Message) -> None:
        if (self.cfg.check_quorum or self.cfg.pre_vote) and m.type in (MT.HEARTBEAT, MT.APP):
            # A stale leader (e.g. healed from a partition) learns our term and steps down;
            # without this, a node that bumped its term could never rejoin under PreVote.
            self.send(Message(MT.APP_RESP, to=m.frm))
        elif m.type is MT.PRE_VOTE:
            self.send(Message(MT.PRE_VOTE_RESP, to=m.frm, term=self.term, reject=True))

    def _step_hup(self, m: Message) -> None:
        if self.state is StateType.LEADER or not self.promotable():
            return
        if self._has_unapplied_conf_change():
            return   # campaigning now could elect a node that misses a committed change
        transfer = m.context == CAMPAIGN_TRANSFER
        if self.cfg.pre_vote and not transfer:
            self.campaign(pre_vote=True)
        else:
            self.campaign(pre_vote=False, transfer=transfer)

    def _has_unapplied_conf_change(self) -> bool:
        lo, hi = self.raft_log.applied + 1, self.raft_log.committed + 1
        if lo >= hi or lo < self.raft_log.first_index():
            return False
        return any(e.type is EntryType.CONF_CHANGE for e in self.raft_log.slice(lo, hi))

    def _step_vote_request(self, m: Message) -> None:
        can_vote = (self.vote == m.frm
                    or (self.vote == NONE and self.lead == NONE)
                    or (m.type is MT.PRE_VOTE and m.term > self.term))
        resp = MT.VOTE_RESP if m.type is MT.VOTE else MT.PRE_VOTE_RESP
        if can_vote and self.raft_log.is_up_to_date(m.index, m.log_term):
            # A pre-vote is answered at the term the candidate would use, a vote at ours
            # (which now equals the candidate's).
            self.send(Message(resp, to=m.frm, term=m.term))
            if m.type is MT.VOTE:
                self.election_elapsed = 0
                self.vote = m.frm
        else:
            self.send(Message(resp, to=m.frm, term=self.term, reject=True))

    def campaign(self, pre_vote: bool, transfer: bool = False) -> None:
        if pre_vote:
            self.become_pre_candidate()
            vote_type, term = MT.PRE_VOTE, self.term + 1
        else:
            self.become_candidate()
            vote_type, term = MT.VOTE, self.term
        self.prs.record_vote(self.id, True)
        if self._poll_result() == "won":
            return
        ctx = CAMPAIGN_TRANSFER if transfer else b""
        last = self.raft_log.last_index()
        for node_id in sorted(self.prs.voters):
            if node_id != self.id:
                self.send(Message(vote_type, to=node_id, term=term, index=last,
                                  log_term=self.raft_log.last_term(), context=ctx))

    def _poll_result(self) -> str:
        _, _, result = self.prs.tally_votes()
        if result == "won":
            if self.state is StateType.PRE_CANDIDATE:
                self.campaign(pre_vote=False)
            else:
                self.become_leader()
                self.bcast_append()
        elif result == "lost":
            self.become_follower(self.term, NONE)
        return result

    # -- follower and candidate --

    def step_follower(self, m: Message) -> None:
        if m.type in (MT.PROP, MT.TRANSFER_LEADER, MT.READ_INDEX):
            if self.lead == NONE:
                if m.type is MT.PROP:
                    raise ProposalDropped(f"{self.id} has no leader to forward to")
                return
            self.send(_with(m, to=self.lead, term=0))
        elif m.type in (MT.APP, MT.HEARTBEAT, MT.SNAP):
            self.election_elapsed = 0
            self.lead = m.frm
            self._handle_from_leader(m)
        elif m.type is MT.TIMEOUT_NOW:
            if self.promotable():
                # Leader transfer: skip PreVote, the current leader asked for this.
                self.campaign(pre_vote=False, transfer=True)
        elif m.type is MT.READ_INDEX_RESP:
            self.read_states.append(ReadState(m.index, m.context))

    def step_candidate(self, m: Message) -> None:
        my_resp = MT.PRE_VOTE_RESP if self.state is StateType.PRE_CANDIDATE else MT.VOTE_RESP
        if m.type is MT.PROP:
            raise ProposalDropped(f"{self.id} is campaigning and has no leader")
        if m.type in (MT.APP, MT.HEARTBEAT, MT.SNAP):
            self.become_follower(m.term, m.frm)
            self._handle_from_leader(m)
        elif m.type is my_resp:
            self.prs.record_vote(m.frm, not m.reject)
            self._poll_result()

    def _handle_from_leader(self, m: Message) -> None:
        if m.type is MT.APP:
            self.handle_append_entries(m)
        elif m.type is MT.HEARTBEAT:
            self.raft_log.commit_to(min(m.commit, self.raft_log.last_index()))
            self.send(Message(MT.HEARTBEAT_RESP, to=m.frm, context=m.context))
        else:
            self.handle_snapshot(m)

    def handle_append_entries(self, m: Message) -> None:
        log = self.raft_log
        if m.index < log.committed:
            self.send(Message(MT.APP_RESP, to=m.frm, index=log.committed))
            return
        last_new = log.maybe_append(m.index, m.log_term, m.commit, m.entries)
        if last_new is not None:
            self.send(Message(MT.APP_RESP, to=m.frm, index=last_new))
            return
        # Fast backtracking: tell the leader the last index whose term is <= the term it
        # probed with, so it can skip a whole term of mismatching entries at once.
        hint = log.find_conflict_by_term(min(m.index, log.last_index()), m.log_term)
        self.send(Message(MT.APP_RESP, to=m.frm, index=m.index, reject=True,
                          reject_hint=hint, log_term=log.term_or_zero(hint)))

    def handle_snapshot(self, m: Message) -> None:
        assert m.snapshot is not None
        if self.restore(m.snapshot):
            self.send(Message(MT.APP_RESP, to=m.frm, index=self.raft_log.last_index()))
        else:
            self.send(Message(MT.APP_RESP, to=m.frm, index=self.raft_log.committed))

    def restore(self, snap) -> bool:
        meta = snap.metadata
        if meta.index <= self.raft_log.committed:
            return False
        if self.raft_log.match_term(meta.index, meta.term):
            self.raft_log.commit_to(meta.index)   # we already have it: fast-forward commit
            return False
        self.raft_log.restore(snap)
        self.prs.apply_conf(meta.conf_state, self.raft_log.last_index() + 1)
        return True

    # -- configuration --

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        cs = self.prs.conf_state().apply(cc)
        self.prs.apply_conf(cs, self.raft_log.last_index() + 1)
        if self.state is StateType.LEADER:
            self.after_conf_change()
        return cs

    # -- proposals from the host --

    def propose_entries(self, entries: list[Entry]) -> None:
        self.step(Message(MT.PROP, frm=self.id, entries=tuple(entries)))

    def check_local(self, m: Message) -> None:
        if m.type in LOCAL_MESSAGES:
            raise StepError(f"cannot step local message {m.type.value} from the network")


def _with(m: Message, **changes) -> Message:
    return replace(m, **changes)


_MESSAGE_FIELDS = ("type", "to", "frm", "term", "log_term", "index", "entries", "commit",
                   "snapshot", "reject", "reject_hint", "context")
assert tuple(f.name for f in fields(Message)) == _MESSAGE_FIELDS, "update _stamp"


def _stamp(m: Message, term: int, frm: int) -> Message:
    """m with term and frm set. Built field by field: on the hottest path of every send,
    dataclasses.replace costs several times as much."""
    return Message(type=m.type, to=m.to, frm=frm, term=term, log_term=m.log_term,
                   index=m.index, entries=m.entries, commit=m.commit, snapshot=m.snapshot,
                   reject=m.reject, reject_hint=m.reject_hint, context=m.context)


_COMMON = {
    MT.HUP: Raft._step_hup,
    MT.VOTE: Raft._step_vote_request,
    MT.PRE_VOTE: Raft._step_vote_request,
}
