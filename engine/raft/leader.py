"""The leader's side of Raft: replication, the commit rule, heartbeats, CheckQuorum,
ReadIndex and leader transfer.

Mixed into `Raft` (raft.py), which owns the state these methods read and change.
Flow control per follower follows its Progress state (see progress.py): probing sends one
append and waits, replicating pipelines up to the inflight window, a snapshot in flight
pauses the follower until the host reports how sending it went.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .progress import ProgressState
from .storage import Compacted
from .types import (
    NONE, ConfChange, Entry, EntryType, Message, MessageType as MT, ProposalDropped,
    ReadState, StateType,
)

if TYPE_CHECKING:
    from .raft import Raft


class LeaderMixin:
    # -- becoming and staying leader --

    def become_leader(self: Raft) -> None:
        if self.state is StateType.FOLLOWER:
            raise AssertionError("invalid transition [follower -> leader]")
        self.reset(self.term)
        self.lead = self.id
        self.state = StateType.LEADER
        self.prs.progress[self.id].become_replicate()
        # No configuration change may be proposed until everything up to here is applied:
        # this also covers the single-server change hazard (a leader must commit in its
        # own term before changing membership).
        self.pending_conf_index = self.raft_log.last_index()
        # The empty entry of the new term: committing it commits everything before it.
        self.append_entry([Entry(term=0, index=0)])

    def tick_heartbeat(self: Raft) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= self.cfg.election_tick:
            self.election_elapsed = 0
            if self.cfg.check_quorum:
                self.step(Message(MT.CHECK_QUORUM, frm=self.id))
            if self.state is StateType.LEADER and self.lead_transferee != NONE:
                self.abort_leader_transfer()   # the transfer took an election timeout: give up
        if self.state is not StateType.LEADER:
            return
        if self.heartbeat_elapsed >= self.cfg.heartbeat_tick:
            self.heartbeat_elapsed = 0
            self.step(Message(MT.BEAT, frm=self.id))

    def step_leader(self: Raft, m: Message) -> None:
        handler = _LEADER_HANDLERS.get(m.type)
        if handler is not None:
            handler(self, m)
            return
        pr = self.prs.progress.get(m.frm)
        if pr is None:
            return   # from a node outside the configuration
        handler = _PEER_HANDLERS.get(m.type)
        if handler is not None:
            handler(self, m, pr)

    # -- messages the leader handles without a sender's progress --

    def _on_beat(self: Raft, m: Message) -> None:
        self.bcast_heartbeat()

    def _on_check_quorum(self: Raft, m: Message) -> None:
        if not self.prs.quorum_active():
            self.become_follower(self.term, NONE)   # we lost touch with a quorum
            return
        for node_id, pr in self.prs.progress.items():
            pr.recent_active = node_id == self.id

    def _on_prop(self: Raft, m: Message) -> None:
        if not m.entries:
            raise ProposalDropped("empty proposal")
        if self.id not in self.prs.progress:
            raise ProposalDropped(f"{self.id} was removed from the configuration")
        if self.lead_transferee != NONE:
            raise ProposalDropped(f"leadership is being transferred to {self.lead_transferee}")
        for e in m.entries:
            if e.type is EntryType.CONF_CHANGE:
                if self.pending_conf_index > self.raft_log.applied:
                    raise ProposalDropped("a configuration change is still pending")
        for e in m.entries:
            if e.type is EntryType.CONF_CHANGE:
                self.pending_conf_index = self.raft_log.last_index() + 1
        self.append_entry(list(m.entries))
        self.bcast_append()

    def _on_read_index(self: Raft, m: Message) -> None:
        if self.prs.is_singleton():
            self._answer_read(m, self.raft_log.committed)
            return
        if not self._committed_in_current_term():
            # Our commit index may lag the previous leader's until our empty entry commits.
            self.pending_read_index.append(m)
            return
        self._start_read_index(m)

    def _start_read_index(self: Raft, m: Message) -> None:
        self.read_only.add_request(self.raft_log.committed, m)
        self.read_only.recv_ack(self.id, m.context)
        self.bcast_heartbeat(m.context)

    def _answer_read(self: Raft, m: Message, index: int) -> None:
        if m.frm in (NONE, self.id):
            self.read_states.append(ReadState(index, m.context))
        else:
            self.send(Message(MT.READ_INDEX_RESP, to=m.frm, index=index, context=m.context))

    def _committed_in_current_term(self: Raft) -> bool:
        return self.raft_log.term_or_zero(self.raft_log.committed) == self.term

    def _on_transfer_leader(self: Raft, m: Message) -> None:
        transferee = m.frm
        if transferee in self.prs.learners or transferee not in self.prs.progress:
            return
        if self.lead_transferee != NONE:
            if self.lead_transferee == transferee:
                return   # the same transfer is already under way
            self.abort_leader_transfer()
        if transferee == self.id:
            return
        self.election_elapsed = 0   # the transfer must finish within an election timeout
        self.lead_transferee = transferee
        if self.prs.progress[transferee].match == self.raft_log.last_index():
            self.send_timeout_now(transferee)
        else:
            self.send_append(transferee)

    # -- messages from a follower --

    def _on_app_resp(self: Raft, m: Message, pr) -> None:
        pr.recent_active = True
        if m.reject:
            self._on_append_rejected(m, pr)
            return
        old_paused = pr.is_paused()
        if pr.maybe_update(m.index):
            if pr.state is ProgressState.PROBE:
                pr.become_replicate()
            elif pr.state is ProgressState.SNAPSHOT and pr.match >= pr.pending_snapshot:
                pr.become_probe()
                pr.become_replicate()
            elif pr.state is ProgressState.REPLICATE:
                pr.inflights.free_le(m.index)
            if self.maybe_commit():
                self.bcast_append()
            elif old_paused:
                self.send_append(m.frm)
            while self.send_append(m.frm, send_if_empty=False):
                pass
            if m.frm == self.lead_transferee and pr.match == self.raft_log.last_index():
                self.send_timeout_now(m.frm)

    def _on_append_rejected(self: Raft, m: Message, pr) -> None:
        next_probe = m.reject_hint
        if m.log_term > 0:
            # Skip every entry of ours whose term is above the follower's at the hint.
            next_probe = self.raft_log.find_conflict_by_term(m.reject_hint, m.log_term)
        if pr.maybe_decr_to(m.index, next_probe):
            if pr.state is ProgressState.REPLICATE:
                pr.become_probe()
            self.send_append(m.frm)

    def _on_heartbeat_resp(self: Raft, m: Message, pr) -> None:
        pr.recent_active = True
        pr.probe_sent = False
        if pr.state is ProgressState.REPLICATE and pr.inflights.full():
            # The follower is alive but its window is full (appends may have been lost):
            # free one slot so replication can resume instead of waiting forever.
            pr.inflights.free_first_one()
        if pr.match < self.raft_log.last_index():
            self.send_append(m.frm)
        if not m.context:
            return
        acks = self.read_only.recv_ack(m.frm, m.context)
        if acks is None or len(acks & self.prs.voters) < self.prs.quorum():
            return
        for status in self.read_only.advance(m.context):
            self._answer_read(status.request, status.index)

    def _on_snap_status(self: Raft, m: Message, pr) -> None:
        if pr.state is not ProgressState.SNAPSHOT:
            return
        if m.reject:
            pr.pending_snapshot = 0
        pr.become_probe()
        pr.probe_sent = True   # wait for a heartbeat response before probing again

    def _on_unreachable(self: Raft, m: Message, pr) -> None:
        if pr.state is ProgressState.REPLICATE:
            pr.become_probe()

    # -- replication --

    def append_entry(self: Raft, entries: list[Entry]) -> None:
        last = self.raft_log.last_index()
        stamped = [Entry(term=self.term, index=last + 1 + i, type=e.type, data=e.data)
                   for i, e in enumerate(entries)]
        last = self.raft_log.append(stamped)
        self.prs.progress[self.id].maybe_update(last)
        self.maybe_commit()

    def maybe_commit(self: Raft) -> bool:
        index = self.prs.committed()
        if self.cfg.unsafe_commit_old_terms:
            if index > self.raft_log.committed:
                self.raft_log.commit_to(index)
                return True
            return False
        # The commit rule (Raft §5.4.2): only an entry of the current term is committed by
        # counting replicas; older entries are committed indirectly by it.
        if not self.raft_log.maybe_commit(index, self.term):
            return False
        if self.pending_read_index and self._committed_in_current_term():
            waiting, self.pending_read_index = self.pending_read_index, []
            for m in waiting:
                self._start_read_index(m)
        return True

    def send_append(self: Raft, to: int, send_if_empty: bool = True) -> bool:
        """Send what follower `to` needs next. True if a message went out."""
        pr = self.prs.progress[to]
        if pr.is_paused():
            return False
        try:
            prev_term = self.raft_log.term(pr.next - 1)
            entries = self.raft_log.entries_from(pr.next, self.cfg.max_size_per_msg)
        except Compacted:
            return self._send_snapshot(to, pr)
        if not entries and not send_if_empty:
            return False
        self.send(Message(MT.APP, to=to, index=pr.next - 1, log_term=prev_term,
                          entries=tuple(entries), commit=self.raft_log.committed))
        if entries:
            if pr.state is ProgressState.REPLICATE:
                pr.optimistic_update(entries[-1].index)
                pr.inflights.add(entries[-1].index)
            elif pr.state is ProgressState.PROBE:
                pr.probe_sent = True
        return True

    def _send_snapshot(self: Raft, to: int, pr) -> bool:
        if not pr.recent_active:
            return False   # don't ship a snapshot to a node we have not heard from
        snap = self.raft_log.snapshot()
        if snap.is_empty():
            return False
        pr.become_snapshot(snap.metadata.index)
        self.send(Message(MT.SNAP, to=to, snapshot=snap))
        return True

    def bcast_append(self: Raft) -> None:
        for node_id in sorted(self.prs.progress):
            if node_id != self.id:
                self.send_append(node_id)

    def bcast_heartbeat(self: Raft, ctx: bytes | None = None) -> None:
        if ctx is None:
            ctx = self.read_only.last_pending_request_ctx()
        for node_id in sorted(self.prs.progress):
            if node_id == self.id:
                continue
            pr = self.prs.progress[node_id]
            # Never tell a follower to commit past what it is known to hold.
            commit = min(pr.match, self.raft_log.committed)
            self.send(Message(MT.HEARTBEAT, to=node_id, commit=commit, context=ctx))

    # -- leadership transfer and configuration --

    def send_timeout_now(self: Raft, to: int) -> None:
        self.send(Message(MT.TIMEOUT_NOW, to=to))

    def abort_leader_transfer(self: Raft) -> None:
        self.lead_transferee = NONE

    def after_conf_change(self: Raft) -> None:
        if self.id not in self.prs.voters:
            self.become_follower(self.term, NONE)   # removed or demoted: step down
            return
        if self.lead_transferee not in self.prs.voters:
            self.abort_leader_transfer()
        if self.maybe_commit():
            self.bcast_append()
        else:
            for node_id in sorted(self.prs.progress):
                if node_id != self.id:
                    self.send_append(node_id, send_if_empty=False)


def conf_change_entry(cc: ConfChange) -> Entry:
    return Entry(term=0, index=0, type=EntryType.CONF_CHANGE, data=cc.encode())


_LEADER_HANDLERS = {
    MT.BEAT: LeaderMixin._on_beat,
    MT.CHECK_QUORUM: LeaderMixin._on_check_quorum,
    MT.PROP: LeaderMixin._on_prop,
    MT.READ_INDEX: LeaderMixin._on_read_index,
    MT.TRANSFER_LEADER: LeaderMixin._on_transfer_leader,
}

_PEER_HANDLERS = {
    MT.APP_RESP: LeaderMixin._on_app_resp,
    MT.HEARTBEAT_RESP: LeaderMixin._on_heartbeat_resp,
    MT.SNAP_STATUS: LeaderMixin._on_snap_status,
    MT.UNREACHABLE: LeaderMixin._on_unreachable,
}
