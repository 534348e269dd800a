"""The leader's view of each follower (Progress) and of the whole configuration (tracker).

A follower's Progress is in one of three states, as in etcd raft:
- PROBE: one append per heartbeat interval until the leader finds where logs match;
- REPLICATE: optimistic pipelining, bounded by an inflight window;
- SNAPSHOT: a snapshot is on its way; nothing else is sent until it is reported.
The tracker also counts votes and computes the quorum commit index.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .types import ConfState


class ProgressState(enum.Enum):
    PROBE = "probe"
    REPLICATE = "replicate"
    SNAPSHOT = "snapshot"


class Inflights:
    """Last indexes of the appends in flight to one follower, at most `size` of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.buffer: list[int] = []

    def add(self, index: int) -> None:
        self.buffer.append(index)

    def free_le(self, index: int) -> None:
        """An ack up to index frees every append that ended at or before it."""
        n = 0
        while n < len(self.buffer) and self.buffer[n] <= index:
            n += 1
        del self.buffer[:n]

    def free_first_one(self) -> None:
        if self.buffer:
            del self.buffer[0]

    def full(self) -> bool:
        return len(self.buffer) >= self.size

    def reset(self) -> None:
        self.buffer.clear()


@dataclass(slots=True)
class Progress:
    match: int = 0
    next: int = 1
    state: ProgressState = ProgressState.PROBE
    probe_sent: bool = False          # in PROBE: an append is out, wait for reply/heartbeat
    pending_snapshot: int = 0         # in SNAPSHOT: the index being sent
    recent_active: bool = False       # heard from since the last CheckQuorum
    is_learner: bool = False
    inflights: Inflights = field(default_factory=lambda: Inflights(256))

    def become_probe(self) -> None:
        if self.state is ProgressState.SNAPSHOT:
            pending = self.pending_snapshot
            self._reset(ProgressState.PROBE)
            self.next = max(self.match + 1, pending + 1)
        else:
            self._reset(ProgressState.PROBE)
            self.next = self.match + 1

    def become_replicate(self) -> None:
        self._reset(ProgressState.REPLICATE)
        self.next = self.match + 1

    def become_snapshot(self, snapshot_index: int) -> None:
        self._reset(ProgressState.SNAPSHOT)
        self.pending_snapshot = snapshot_index

    def _reset(self, state: ProgressState) -> None:
        self.probe_sent = False
        self.pending_snapshot = 0
        self.state = state
        self.inflights.reset()

    def maybe_update(self, n: int) -> bool:
        """A successful append response up to n. True if match moved."""
        updated = n > self.match
        if updated:
            self.match = n
            self.probe_sent = False
        self.next = max(self.next, n + 1)
        return updated

    def optimistic_update(self, n: int) -> None:
        self.next = n + 1

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """A rejected append. True if `next` moved back (a stale rejection changes nothing)."""
        if self.state is ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, match_hint + 1), 1)
        self.probe_sent = False
        return True

    def is_paused(self) -> bool:
        if self.state is ProgressState.PROBE:
            return self.probe_sent
        if self.state is ProgressState.REPLICATE:
            return self.inflights.full()
        return True


class ProgressTracker:
    def __init__(self, max_inflight: int) -> None:
        self.max_inflight = max_inflight
        self.voters: set[int] = set()
        self.learners: set[int] = set()
        self.progress: dict[int, Progress] = {}
        self.votes: dict[int, bool] = {}

    def conf_state(self) -> ConfState:
        return ConfState(frozenset(self.voters), frozenset(self.learners))

    def apply_conf(self, cs: ConfState, next_index: int) -> None:
        """Make the tracker follow a configuration; new members start probing at next_index."""
        self.voters, self.learners = set(cs.voters), set(cs.learners)
        members = self.voters | self.learners
        for gone in [i for i in self.progress if i not in members]:
            del self.progress[gone]
        for node_id in members:
            pr = self.progress.get(node_id)
            if pr is None:
                pr = Progress(next=next_index, inflights=Inflights(self.max_inflight))
                self.progress[node_id] = pr
            pr.is_learner = node_id in self.learners

    def quorum(self) -> int:
        return len(self.voters) // 2 + 1

    def committed(self) -> int:
        """The largest index that a quorum of voters has matched."""
        if not self.voters:
            return 0
        matched = sorted((self.progress[v].match for v in self.voters), reverse=True)
        return matched[self.quorum() - 1]

    def is_singleton(self) -> bool:
        return len(self.voters) == 1 and not self.learners

    def quorum_active(self) -> bool:
        active = sum(1 for v in self.voters if self.progress[v].recent_active)
        return active >= self.quorum()

    # -- elections --

    def reset_votes(self) -> None:
        self.votes = {}

    def record_vote(self, node_id: int, granted: bool) -> None:
        self.votes.setdefault(node_id, granted)

    def tally_votes(self) -> tuple[int, int, str]:
        """(granted, rejected, 'won' | 'lost' | 'pending') among current voters."""
        granted = sum(1 for v in self.voters if self.votes.get(v) is True)
        rejected = sum(1 for v in self.voters if self.votes.get(v) is False)
        if granted >= self.quorum():
            return granted, rejected, "won"
        if rejected >= len(self.voters) - self.quorum() + 1:
            return granted, rejected, "lost"
        return granted, rejected, "pending"
