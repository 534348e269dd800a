"""The linearizability search: Wing & Gong's backtracking, with Lowe's memoization.

The history becomes one list of call and return entries in time order (calls first at
equal stamps, so equal stamps count as overlapping; an operation without an answer returns
"never"). The operations whose calls come before the first return still in the list are
the ones that may take effect next; we try each in turn: the model says which states it
can lead to, the first one not yet explored is taken, the operation's two entries are
lifted out of the list, and we go on from there. When none of them can go next, the op
of that first return cannot be placed in time: undo the last choice (its next
alternative state, or the next op in line at that point). Every (set of placed operations,
model state) pair is explored once (and not again with more of the unanswered ops used
up, which can only be worse), which is what keeps the search from going exponential on
ordinary histories. Operations without an answer need not be placed; one
is never placed where it would change nothing, and identical ones only in invoke order.

A model is anything with `init` (a hashable state) and `step(state, op)` returning a tuple
of possible next states: empty if the operation cannot happen in that state, more than one
when the model cannot tell which happened (a timed-out txn's compares, say).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, Sequence

from .history import Operation

OK, FAIL, UNDECIDED = "linearizable", "not linearizable", "undecided"
NEVER = 1 << 62


class Model(Protocol):
    init: object
    def step(self, state: object, op: Operation) -> tuple: ...


@dataclass(frozen=True, slots=True)
class SearchResult:
    verdict: str
    steps: int
    order: tuple[int, ...] = ()      # when linearizable: positions in `ops`, in order
    deepest: int = 0                 # most operations placed at once
    stuck: int | None = None         # position of the op that blocked the deepest attempt


class _Entries:
    """The doubly linked list of call and return entries, with lift and unlift."""

    def __init__(self, ops: Sequence[Operation]) -> None:
        n = len(ops)
        timed = []
        for i, op in enumerate(ops):
            timed.append((op.invoke, 0, i))
            timed.append((op.complete if op.complete is not None else NEVER, 1, i))
        timed.sort()
        self.head, self.tail = 2 * n, 2 * n + 1
        self.is_call = [kind == 0 for _, kind, _ in timed] + [False, False]
        self.op_of = [i for _, _, i in timed] + [-1, -1]
        self.match = [0] * (2 * n)
        self.call_of = [0] * n
        for pos, (_, kind, i) in enumerate(timed):
            if kind == 0:
                self.call_of[i] = pos
            else:
                self.match[self.call_of[i]] = pos
        order = [self.head, *range(2 * n), self.tail]
        self.nxt = [0] * (2 * n + 2)
        self.prv = [0] * (2 * n + 2)
        for a, b in zip(order, order[1:]):
            self.nxt[a], self.prv[b] = b, a

    def lift(self, call: int) -> None:
        nxt, prv = self.nxt, self.prv
        for e in (call, self.match[call]):
            nxt[prv[e]], prv[nxt[e]] = nxt[e], prv[e]

    def unlift(self, call: int) -> None:
        nxt, prv = self.nxt, self.prv
        for e in (self.match[call], call):
            nxt[prv[e]], prv[nxt[e]] = e, e


class _Search:
    def __init__(self, model: Model, ops: Sequence[Operation], budget: int) -> None:
        self.model, self.ops, self.budget = model, ops, budget
        self.entries = _Entries(ops)
        self.required = [op.complete is not None for op in ops]
        self.twin_before = _twins(ops)
        self.left = sum(self.required)        # answered ops not yet placed
        self.state = model.init
        self.placed = 0                       # bit i: ops[i] is placed
        self.must = sum(1 << i for i, r in enumerate(self.required) if r)
        self.memo: dict = {}                  # (placed answered ops, state) -> [placed others]
        self.stack: list = []                 # (op, state before, untried states, choices, next)
        self.steps = 0
        self.deepest, self.stuck = 0, None

    def run(self) -> SearchResult:
        choices, k = self._choices(), 0
        while self.left:
            if k < len(choices):
                i, k = choices[k], k + 1
                self.steps += 1
                if self.steps > self.budget:
                    return SearchResult(UNDECIDED, self.steps, deepest=self.deepest)
                if self._place(i, list(self.model.step(self.state, self.ops[i])), choices, k):
                    choices, k = self._choices(), 0
                continue
            if not self.stack:
                return SearchResult(FAIL, self.steps, deepest=self.deepest, stuck=self.stuck)
            choices, k = self._backtrack()
        order = tuple(frame[0] for frame in self.stack)
        return SearchResult(OK, self.steps, order, deepest=len(self.stack))

    def _choices(self) -> list[int]:
        """The ops that may take effect next: those invoked before the first pending
        return. Answered ones are tried first, so a state is reached without using up
        unanswered ops before it is reached with them."""
        ent = self.entries
        must, may = [], []
        e = ent.nxt[ent.head]
        while ent.is_call[e]:
            i = ent.op_of[e]
            (must if self.required[i] else may).append(i)
            e = ent.nxt[e]
        if e != ent.tail and len(self.stack) >= self.deepest:
            self.deepest, self.stuck = len(self.stack), ent.op_of[e]
        return must + may

    def _place(self, i: int, untried: list, choices: list[int], k: int) -> bool:
        """Take the first unexplored next state of ops[i], if any. An operation that need
        not be placed is never placed where it changes nothing: leaving it out is as good,
        and placing it would multiply the states to explore."""
        bit = 1 << i
        twin = self.twin_before[i]
        if twin is not None and not self.placed >> twin & 1:
            return False
        while untried:
            state = untried.pop(0)
            if not self.required[i] and state == self.state:
                continue
            if self._explored(self.placed | bit, state):
                continue
            self.stack.append((i, self.state, untried, choices, k))
            self.state, self.placed = state, self.placed | bit
            self.entries.lift(self.entries.call_of[i])
            self.left -= self.required[i]
            return True
        return False

    def _explored(self, placed: int, state: object) -> bool:
        """Was this state reached before with the same answered ops placed and no more of
        the others? Then it was a dead end, and this, with fewer ops left to help, is too."""
        optional = placed & ~self.must
        seen = self.memo.setdefault((placed & self.must, state), [])
        # Scanning `seen` is work too: counting it keeps the budget a bound on time even
        # when many unanswered ops make these lists long.
        self.steps += len(seen)
        if any(other & ~optional == 0 for other in seen):
            return True
        seen.append(optional)
        return False

    def _backtrack(self) -> tuple[list[int], int]:
        """Undo the last placement; try its other states, else go on with the choices
        that were left when it was made."""
        i, state, untried, choices, k = self.stack.pop()
        self.entries.unlift(self.entries.call_of[i])
        self.state, self.placed = state, self.placed & ~(1 << i)
        self.left += self.required[i]
        if self._place(i, untried, choices, k):
            return self._choices(), 0
        return choices, k


def _twins(ops: Sequence[Operation]) -> list[int | None]:
    """For each unanswered op, the previous unanswered one with the very same request: of
    two such twins the earlier can stand in wherever the later could, so twins are only
    ever placed in order (d identical timed-out deletes give d + 1 cases, not 2 ** d)."""
    last: dict[tuple, int] = {}
    before: list[int | None] = [None] * len(ops)
    for i in sorted(range(len(ops)), key=lambda i: ops[i].invoke):
        op = ops[i]
        if op.complete is None:
            key = (op.request, op.response)
            before[i] = last.get(key)
            last[key] = i
    return before


def check(model: Model, ops: Sequence[Operation], budget: int = 200_000) -> SearchResult:
    """Is there an order of `ops` that respects real time and that `model` accepts?
    Gives up (UNDECIDED) after `budget` model steps."""
    return _Search(model, ops, budget).run()
