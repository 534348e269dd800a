"""etcd's keyspace as a sequential model for the linearizability search, revisions included.

A state is `(rev, cells)`: `rev` is a floor on the store revision (every revision up to it
has happened), `cells` holds, per key of the partition in key order, None (absent) or
`(value, mod_revision)`. Other partitions, leases and unseen writes also spend revisions,
so the model never asks a revision to be exactly the next one, only that revision order
is total and follows the order of effects:

- a write with revision r needs r > rev, and moves rev to r;
- a linearizable read answered at header revision h needs h >= rev (it cannot read the
  past), moves rev to h, and must return the value and mod_revision the cell holds;
- a write whose revision is unknown (no answer, or an answer without one) took some
  revision above rev: its mod_revision is "pending(rev)", bound when a read sees it. As
  every revision some other write is known to have taken (`claimed`) is not available,
  rev moves to the first free revision above it: timed-out writes can only have
  happened where the known revisions leave a gap, which prunes the search hard.

Version and create_revision are not checked: histories may lack writes whose effect no
one saw, so counts of writes cannot be trusted. Compares on them are decided only where
they depend on existence alone (operand 0); otherwise the recorded outcome is believed.
"""

from __future__ import annotations

from .history import Compare, Delete, Failed, Get, Operation, Put, Read, Txn, TxnResult, Written

FIRST_REVISION = 1            # an empty etcd store is at revision 1


def pending(floor: int) -> int:
    """The mod_revision of a write known only to come after revision `floor`."""
    return -floor - 1


def floor_of(mod: int) -> int:
    return -mod - 1


class KVModel:
    def __init__(self, keys: tuple[bytes, ...], claimed: frozenset[int] = frozenset()) -> None:
        self.keys = tuple(sorted(keys))
        self.slot = {k: i for i, k in enumerate(self.keys)}
        self.init = (FIRST_REVISION, (None,) * len(self.keys))
        self._steps = {Put: self._put, Delete: self._delete, Get: self._get, Txn: self._txn}
        self._free = _next_free(claimed)

    def next_free(self, rev: int) -> int:
        """The first revision above `rev` that no known write has taken."""
        free = self._free
        return free[rev] if rev < len(free) else rev + 1

    def step(self, state: tuple, op: Operation) -> tuple:
        resp = op.response
        if isinstance(resp, Failed):
            resp = None          # only indefinite failures reach the model
        return self._steps[type(op.request)](state, op.request, resp)

    # -- single-key operations --

    def _put(self, state: tuple, req: Put, resp: Written | None) -> tuple:
        rev, cells = state
        r = resp.revision if resp is not None else None
        if r is None:
            at = self.next_free(rev)
            return ((at, _set(cells, self.slot[req.key], (req.value, pending(at - 1)))),)
        if r <= rev:
            return ()
        return ((r, _set(cells, self.slot[req.key], (req.value, r))),)

    def _delete(self, state: tuple, req: Delete, resp: Written | None) -> tuple:
        rev, cells = state
        s = self.slot[req.key]
        if resp is None or resp.revision is None:
            if cells[s] is None:
                return (state,)           # deleting nothing spends no revision
            return ((self.next_free(rev), _set(cells, s, None)),)
        r = resp.revision
        if resp.deleted == 0:
            return ((r, cells),) if cells[s] is None and r >= rev else ()
        if cells[s] is None or r <= rev:
            return ()
        if resp.prev and _observe(cells[s], resp.prev[0], r) is False:
            return ()                 # it removed a value the key did not hold
        return ((r, _set(cells, s, None)),)

    def _get(self, state: tuple, req: Get, resp: Read) -> tuple:
        rev, cells = state
        h = resp.revision
        if h < rev:
            return ()
        s = self.slot[req.key]
        cell = _observe(cells[s], resp.kv, h)
        if cell is False:
            return ()
        return ((h, cells if cell is cells[s] else _set(cells, s, cell)),)

    # -- txn --

    def _txn(self, state: tuple, req: Txn, resp: TxnResult | None) -> tuple:
        rev, cells = state
        held = self._compares(cells, req.compare)
        outcomes = (held,) if held is not None else (True, False)
        if resp is not None:
            outcomes = tuple(o for o in outcomes if o == resp.succeeded)
        found = []
        for succeeded in outcomes:
            ops = req.success if succeeded else req.failure
            nxt = self._run_branch(rev, cells, ops, resp)
            if nxt is not None and nxt not in found:
                found.append(nxt)
        return tuple(found)

    def _compares(self, cells: tuple, compares: tuple[Compare, ...]) -> bool | None:
        """True or False if decidable from the state, None if it depends on unknowns."""
        verdict: bool | None = True
        for c in compares:
            held = _compare(cells[self.slot[c.key]], c)
            if held is False:
                return False
            if held is None:
                verdict = None
        return verdict

    def _run_branch(self, rev: int, cells: tuple, ops: tuple,
                    resp: TxnResult | None) -> tuple | None:
        r = resp.revision if resp is not None else None
        mod = r if r is not None else pending(self.next_free(rev) - 1)
        reads = list(resp.reads) if resp is not None else None
        work, wrote = list(cells), False
        for op in ops:
            s = self.slot[op.key]
            if isinstance(op, Get):
                if reads is not None:
                    cell = _observe(work[s], reads.pop(0), r) if reads else False
                    if cell is False:
                        return None
                    work[s] = cell
            elif isinstance(op, Put):
                work[s], wrote = (op.value, mod), True
            elif work[s] is not None:
                work[s], wrote = None, True
        if r is None:
            return (self.next_free(rev) if wrote else rev, tuple(work))
        return _after_branch(rev, r, tuple(work), wrote)


def _next_free(claimed: frozenset[int]) -> list[int]:
    """free[r]: the first revision above r not in `claimed`, for r up to the last claimed."""
    top = max(claimed, default=0) + 1
    free = [0] * (top + 1)
    nxt = top + 1
    for r in range(top, -1, -1):
        free[r] = nxt
        if r not in claimed:
            nxt = r
    return free


def _after_branch(rev: int, r: int, cells: tuple, wrote: bool) -> tuple | None:
    if r < rev or (wrote and r == rev):
        return None
    return (r, cells)


def _set(cells: tuple, slot: int, cell: tuple | None) -> tuple:
    return cells[:slot] + (cell,) + cells[slot + 1:]


def _observe(cell: tuple | None, kv, header: int | None):
    """The cell after a read saw `kv` in it (a pending mod_revision becomes known), or
    False if the read could not have seen that."""
    if kv is None:
        return cell if cell is None else False
    if cell is None or cell[0] != kv.value:
        return False
    mod = cell[1]
    if mod >= 0:
        return cell if mod == kv.mod else False
    if kv.mod <= floor_of(mod) or (header is not None and kv.mod > header):
        return False
    return (cell[0], kv.mod)


_RESULTS = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b, "<": lambda a, b: a < b,
}


def _compare(cell: tuple | None, c: Compare) -> bool | None:
    test = _RESULTS[c.result]
    if c.target == "value":
        # etcd: a value compare against a missing key fails, whatever the operator.
        return False if cell is None else test(cell[0], c.operand)
    if cell is None:
        return test(0, c.operand)             # every number of a missing key is 0
    if c.target == "mod":
        return test(cell[1], c.operand) if cell[1] >= 0 else None
    if c.operand == 0:
        return test(1, 0)                     # version and create of a live key are > 0
    return None
