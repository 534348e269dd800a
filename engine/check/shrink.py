"""Shrinking a non-linearizable history to a small set of operations that still cannot be
ordered, so a person can see the anomaly in a few lines.

First the history is cut at the return the search could not get past (operations invoked
after it cannot help); then chunks, and finally single operations, are dropped as long as
the rest stays non-linearizable (delta debugging). An operation that another one observed
(the write whose value a read returned, the delete a read of "absent" relied on...) is
only ever dropped together with its observers, or the rest would fail for a new, made-up
reason.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Callable, Sequence

from .history import Delete, Get, Operation, Put, Read, Txn, TxnResult, Written

MAX_TRIES = 400          # searches one shrink may run


class _Writes:
    """The writes of a history with a known revision, per key, in revision order; and
    those whose revision is unknown, with their invocation stamps."""

    def __init__(self, ops: Sequence[Operation]) -> None:
        self.by_key: dict[bytes, list[tuple[int, int, bool]]] = {}   # (rev, op pos, is put)
        self.unsure: dict[bytes, list[int]] = {}                     # op positions
        self.ops = ops
        for pos, op in enumerate(ops):
            for key, rev, is_put in _effects(op):
                self.by_key.setdefault(key, []).append((rev, pos, is_put))
            for key in _unsure_keys(op):
                self.unsure.setdefault(key, []).append(pos)
        for writes in self.by_key.values():
            writes.sort()

    def unsure_between(self, key: bytes, after: int | None, before: int | None) -> list[int]:
        """Writes of `key` with no known revision that may have taken effect after
        ops[after] (a known write) and before stamp `before`: an observation of the key's
        presence may have seen any of them."""
        floor = self.ops[after].invoke if after is not None else None
        return [pos for pos in self.unsure.get(key, ())
                if (before is None or self.ops[pos].invoke < before) and
                (floor is None or self.ops[pos].complete is None or
                 self.ops[pos].complete > floor)]

    def at(self, key: bytes, rev: int) -> int | None:
        for r, pos, _ in self.by_key.get(key, ()):
            if r == rev:
                return pos
        return None

    def latest(self, key: bytes, rev: int) -> int | None:
        writes = self.by_key.get(key, [])
        k = bisect_right(writes, (rev, 1 << 62, True))
        return writes[k - 1][1] if k else None


def _unsure_keys(op: Operation) -> set[bytes]:
    """Keys `op` may have written at a revision no one knows."""
    req, resp = op.request, op.response
    if isinstance(req, (Put, Delete)) and not op.failed and \
            not (isinstance(resp, Written) and resp.revision is not None):
        return {req.key}
    if isinstance(req, Txn) and not op.failed and not isinstance(resp, TxnResult):
        return {sub.key for sub in req.success + req.failure if isinstance(sub, (Put, Delete))}
    return set()


def _effects(op: Operation):
    resp, req = op.response, op.request
    if isinstance(req, Put) and isinstance(resp, Written) and resp.revision is not None:
        yield req.key, resp.revision, True
    elif isinstance(req, Delete) and isinstance(resp, Written) and resp.deleted:
        yield req.key, resp.revision, False
    elif isinstance(req, Txn) and isinstance(resp, TxnResult):
        for sub in (req.success if resp.succeeded else req.failure):
            if isinstance(sub, Put):
                yield sub.key, resp.revision, True


def observed(ops: Sequence[Operation]) -> list[set[int]]:
    """For each operation, the positions of the writes whose effect it saw."""
    writes = _Writes(ops)
    return [_observed_by(op, writes) for op in ops]


def _observed_by(op: Operation, writes: _Writes) -> set[int]:
    req, resp, seen = op.request, op.response, set()

    def note(pos: int | None, key: bytes, presence: bool = True) -> None:
        if pos is not None:
            seen.add(pos)
        if presence:
            seen.update(writes.unsure_between(key, pos, op.complete))
    if isinstance(req, Get) and isinstance(resp, Read):
        if resp.kv is not None:
            note(writes.at(req.key, resp.kv.mod), req.key, presence=False)
        else:
            note(writes.latest(req.key, resp.revision), req.key)
    elif isinstance(req, Delete) and isinstance(resp, Written) and resp.prev:
        note(writes.at(req.key, resp.prev[0].mod), req.key, presence=False)
    elif isinstance(req, Delete) and isinstance(resp, Written) and resp.revision is not None:
        note(writes.latest(req.key, resp.revision - 1 if resp.deleted else resp.revision),
             req.key)
    elif isinstance(req, Txn) and isinstance(resp, TxnResult):
        branch = req.success if resp.succeeded else req.failure
        wrote = any(isinstance(sub, Put) for sub in branch)
        before = resp.revision - 1 if wrote else resp.revision
        for c in req.compare:
            note(writes.latest(c.key, before), c.key)
        gets = [sub for sub in branch if isinstance(sub, Get)]
        for get, kv in zip(gets, resp.reads):
            if kv is not None:
                note(writes.at(get.key, kv.mod), get.key, presence=False)
    return seen


def shrink(ops: Sequence[Operation], is_bad: Callable[[list[Operation]], bool],
           stuck: int | None) -> list[Operation]:
    """A small subset of `ops` (itself non-linearizable per `is_bad`) to show."""
    needs = observed(ops)
    keep = list(range(len(ops)))
    tries = [0]

    def bad(subset: list[int]) -> bool:
        tries[0] += 1
        return tries[0] <= MAX_TRIES and is_bad([ops[i] for i in subset])
    if stuck is not None and ops[stuck].complete is not None:
        cut = _without(keep, [i for i in keep if ops[i].invoke >= ops[stuck].complete], needs)
        if len(cut) < len(keep) and bad(cut):
            keep = cut
    return [ops[i] for i in _ddmin(keep, bad, needs)]


def _without(keep: list[int], dropped: list[int], needs: list[set[int]]) -> list[int]:
    """`keep` less `dropped` and everything that observed what was dropped, transitively."""
    gone = set(dropped)
    grew = True
    while grew:
        more = {i for i in keep if i not in gone and needs[i] & gone}
        grew = bool(more)
        gone |= more
    return [i for i in keep if i not in gone]


def _ddmin(keep: list[int], bad: Callable[[list[int]], bool],
           needs: list[set[int]]) -> list[int]:
    n = 2
    while len(keep) >= 2:
        size = -(-len(keep) // n)
        for start in range(0, len(keep), size):
            rest = _without(keep, keep[start:start + size], needs)
            if rest and bad(rest):
                keep, n = rest, max(n - 1, 2)
                break
        else:
            if size == 1:
                return keep
            n = min(len(keep), 2 * n)
    return keep
