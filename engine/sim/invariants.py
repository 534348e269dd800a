"""The safety checker: Raft's invariants, checked incrementally as the world runs.

The world calls in at four points: after every event that touched a node (`after_event`),
when a Ready becomes durable (`on_persist`), when a node applies an entry or a snapshot
(`on_apply`), and when a client's read is answered (`on_read`). What is checked, exactly:

- election safety: at most one leader per term (seen after every event);
- log matching: every durable entry (index, term) has one payload and one predecessor
  term across all nodes and all time, so two logs sharing (index, term) share the prefix;
- committed entries are stable: a node's *durable* commit index defines what it knows is
  committed; every entry up to it must agree with a global map index -> (term, data),
  across crashes too;
- leader completeness: an entry seen committed by a node at term t is in the log of every
  leader of a term > t (checked when a leader is first seen; log matching covers the prefix);
- state machine safety: the applied hash chain at each index is the same on every node,
  and a node applies only entries whose commit is durable on it;
- monotonicity: per node incarnation, the in-memory commit and the applied index never go
  back (a restart may resume from the durable commit); over the node's whole life the
  durable term and commit never go back, and it never votes twice in one term;
- ReadIndex: a read never returns an index below a write acknowledged before it started.

A broken invariant raises `InvariantViolated`; the world turns it into a report.
"""

from __future__ import annotations

from bisect import bisect_left

from engine.raft import Entry, HardState, Ready, Snapshot, StateType
from engine.raft.describe import describe_entry, describe_hard_state

from .host import Applied, SimNode

NEVER = 1 << 62    # commit term of an index nobody has seen committed yet
LEADER = StateType.LEADER


class InvariantViolated(Exception):
    def __init__(self, invariant: str, detail: str) -> None:
        super().__init__(f"{invariant}: {detail}")
        self.invariant = invariant
        self.detail = detail


class Checker:
    def __init__(self, nodes: list[SimNode | None]) -> None:
        self.nodes = nodes
        n = len(nodes)
        self.leaders: dict[int, int] = {}                   # term -> leader
        self.log_entries: dict[tuple[int, int], tuple] = {}  # (index, term) -> (prev, type, data)
        # The committed prefix, dense from index 1: term, (type, data), and the lowest term
        # at which any node saw it committed (non-decreasing along the index).
        self.c_term: list[int] = [0]
        self.c_body: list[tuple | None] = [None]
        self.c_seen_term: list[int] = [0]
        self.digests: list[bytes | None] = [None]
        self.mem_commit = [0] * n
        self.applied = [0] * n
        self.durable = [HardState()] * n
        self.checks = 0

    @property
    def committed_index(self) -> int:
        """The highest index any node has durably committed."""
        return len(self.c_term) - 1

    # -- after every event --

    def after_event(self, node: SimNode) -> None:
        r = node.rawnode.raft
        if r.state is LEADER and self.leaders.get(r.term) != node.id:
            self._new_leader(node, r.term)
        c = r.raft_log.committed
        if c < self.mem_commit[node.id]:
            raise InvariantViolated("commit-monotonic", f"node {node.id} commit went from "
                                    f"{self.mem_commit[node.id]} back to {c}")
        self.mem_commit[node.id] = c

    def _new_leader(self, node: SimNode, term: int) -> None:
        other = self.leaders.get(term)
        if other is not None:
            raise InvariantViolated("election-safety",
                                    f"nodes {other} and {node.id} both lead term {term}")
        self.leaders[term] = node.id
        self._check_leader_completeness(node, term)

    def _check_leader_completeness(self, node: SimNode, term: int) -> None:
        # The highest index seen committed before `term`; log matching covers what precedes.
        k = bisect_left(self.c_seen_term, term, 1) - 1
        if k < 1:
            return
        log = node.rawnode.raft.raft_log
        if k < log.first_index():
            return     # compacted into the leader's snapshot, which holds only committed state
        have = log.slice(k, k + 1)[0] if k <= log.last_index() else None
        if have is None or have.term != self.c_term[k] or (have.type, have.data) != self.c_body[k]:
            shown = describe_entry(have) if have else "nothing"
            raise InvariantViolated(
                "leader-completeness", f"node {node.id} leads term {term} with {shown} at "
                f"index {k}, committed (before term {term}) as {self._describe_committed(k)}")

    # -- a Ready became durable --

    def on_persist(self, node: SimNode, rd: Ready) -> None:
        if rd.snapshot is not None:
            self._check_snapshot(node, rd.snapshot)
        if rd.entries:
            self._check_log_matching(node, rd.entries)
        if rd.hard_state is not None:
            self._check_hard_state(node, rd.hard_state)

    def _check_log_matching(self, node: SimNode, entries: list[Entry]) -> None:
        disk = node.disk
        first = entries[0].index
        prev = disk.term(first - 1) if first - 1 >= disk.first_index() - 1 else None
        seen = self.log_entries
        for e in entries:
            key = (e.index, e.term)
            body = (prev, e.type, e.data)
            known = seen.get(key)
            if known is None:
                seen[key] = body
            elif known != body:
                # A predecessor term of None means "compacted away when it was persisted".
                if known[1:] != body[1:] or None not in (known[0], prev):
                    raise InvariantViolated(
                        "log-matching", f"node {node.id} persisted {describe_entry(e)} after "
                        f"term {prev}; elsewhere {e.term}/{e.index} follows term {known[0]} "
                        f"with data {known[2]!r}")
                if known[0] is None:
                    seen[key] = body
            prev = e.term

    def _check_snapshot(self, node: SimNode, snap: Snapshot) -> None:
        i, t = snap.metadata.index, snap.metadata.term
        if i < len(self.c_term) and self.c_term[i] and self.c_term[i] != t:
            raise InvariantViolated("committed-stable", f"node {node.id} installed a snapshot "
                                    f"at {t}/{i}, but {i} was committed as "
                                    f"{self._describe_committed(i)}")

    def _check_hard_state(self, node: SimNode, hs: HardState) -> None:
        prev = self.durable[node.id]
        where = f"node {node.id} persisted {describe_hard_state(hs)} after " \
                f"{describe_hard_state(prev)}"
        if hs.term < prev.term:
            raise InvariantViolated("durable-term-monotonic", where)
        if hs.term == prev.term and prev.vote and hs.vote != prev.vote:
            raise InvariantViolated("one-vote-per-term", where)
        if hs.commit < prev.commit:
            raise InvariantViolated("durable-commit-monotonic", where)
        self.durable[node.id] = hs
        if hs.commit > prev.commit:
            self._record_commits(node, prev.commit, hs.commit, hs.term)

    def _record_commits(self, node: SimNode, lo: int, hi: int, term: int) -> None:
        """Node's durable commit moved from lo to hi while at `term`."""
        self._grow(hi)
        seen_term = self.c_seen_term
        for i in range(lo + 1, hi + 1):
            if seen_term[i] > term:
                seen_term[i] = term
        disk = node.disk
        start = max(lo + 1, disk.first_index())
        if start > hi:
            return
        c_term, c_body = self.c_term, self.c_body
        for e in disk.entries(start, hi + 1):
            i = e.index
            if not c_term[i]:
                c_term[i], c_body[i] = e.term, (e.type, e.data)
            elif c_term[i] != e.term or c_body[i] != (e.type, e.data):
                raise InvariantViolated(
                    "committed-stable", f"node {node.id} committed {describe_entry(e)} at "
                    f"term {term}, but {i} was committed as {self._describe_committed(i)}")

    def _grow(self, hi: int) -> None:
        missing = hi + 1 - len(self.c_term)
        if missing > 0:
            self.c_term += [0] * missing
            self.c_body += [None] * missing
            self.c_seen_term += [NEVER] * missing

    def _describe_committed(self, i: int) -> str:
        if i >= len(self.c_term) or not self.c_term[i]:
            return "unknown"
        kind, data = self.c_body[i]
        return describe_entry(Entry(self.c_term[i], i, kind, data))

    # -- the state machine --

    def on_apply(self, node_id: int, a: Applied) -> None:
        node = self.nodes[node_id]
        if a.index <= self.applied[node_id]:
            raise InvariantViolated("applied-monotonic", f"node {node_id} applied {a.index} "
                                    f"after {self.applied[node_id]}")
        self.applied[node_id] = a.index
        disk = node.disk
        if a.index > max(disk.hard_state.commit, disk.snapshot().metadata.index):
            raise InvariantViolated("apply-durable", f"node {node_id} applied {a.index} with "
                                    f"durable commit {disk.hard_state.commit}")
        digests = self.digests
        if a.index >= len(digests):
            digests += [None] * (a.index + 1 - len(digests))
        known = digests[a.index]
        if known is None:
            digests[a.index] = a.digest
        elif known != a.digest:
            raise InvariantViolated("state-machine-safety", f"node {node_id} applied "
                                    f"{a.term}/{a.index} reaching digest {a.digest.hex()[:12]}, "
                                    f"another node reached {known.hex()[:12]}")
        if a.index < len(self.c_term) and self.c_term[a.index] not in (0, a.term):
            raise InvariantViolated("state-machine-safety", f"node {node_id} applied "
                                    f"{a.term}/{a.index}, committed as "
                                    f"{self._describe_committed(a.index)}")

    # -- node lifecycle and clients --

    def on_crash(self, node: SimNode) -> None:
        self.applied[node.id] = 0
        self.mem_commit[node.id] = 0

    def on_restart(self, node: SimNode) -> None:
        self.mem_commit[node.id] = node.rawnode.raft.raft_log.committed
        self.after_event(node)

    def on_read(self, node_id: int, ctx: bytes, index: int, floor: int) -> None:
        if index < floor:
            raise InvariantViolated("read-index-linearizable",
                                    f"read {ctx.decode()} at node {node_id} got index {index}, "
                                    f"but index {floor} was acknowledged before it started")
