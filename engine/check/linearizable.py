"""Linearizability of a KV history, the way etcd promises it, using revisions throughout.

Four checks, all on the client-side history alone:

1. Per partition: operations are grouped by the keys they touch (a txn over several keys
   joins their groups) and each group goes through the WGL search (wgl.py) with the KV
   model (kvmodel.py). A failure is shrunk (shrink.py) to a few operations.
2. Revision order: the store revision is one counter shared by every key, so across all
   partitions, an operation that completed before another was invoked must not carry a
   higher revision (a write's, or the header of a linearizable read); no two writes may
   carry the same revision.
3. Historical reads (at a revision, or serializable, which read a member's state at its
   header revision whenever that was) are not bound to real time; each must return
   exactly what the writes with known revisions left at that revision.
4. Keys ever attached to a lease can vanish without any client op (expiry), so their
   operations are left to the lease checker and only take part in the revision order.

Before checking, a write that had no answer but whose unique value a read saw is given
the mod_revision that read reported: it did happen, there. An unanswered write whose
values no one ever saw is left out of the search when nothing else could have noticed it
(no delete of its keys, no txn that tested them without reading them): whether it took
effect cannot matter, and keeping it costs the search dearly (a partition's worth of
timed-out writes would each be tried at every point).

Given the store's complete history after the run (`store`), unanswered puts and txns are
settled from it too: a value found there took effect at that revision, one missing never
took effect and leaves the search. Either only narrows what the search may assume about
an operation whose outcome the client never learned, so no violation can hide behind it;
a store history that lies about a write shows up as a violation here or in durability.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Callable, Iterable, Sequence

from . import wgl
from .findings import Finding, Verdicts
from .history import (
    EVENTUALLY, PUT, Delete, Get, Operation, Put, Read, StoreHistory, Txn, TxnResult,
    Written, describe_op, keys_of, show,
)
from .kvmodel import FIRST_REVISION, KVModel
from .shrink import shrink

SEARCH_BUDGET = 2_000_000    # model steps per partition before giving up (about 2 s)
SHRINK_BUDGET = 30_000       # per search while shrinking
MAX_REPORTED = 3             # revision-order pairs shown per history


def check_linearizable(ops: Sequence[Operation], stamp: Callable[[int], str] = str,
                       budget: int = SEARCH_BUDGET,
                       store: StoreHistory | None = None) -> Verdicts:
    ops = resolve_unknown_writes(ops, store)
    leased = {op.request.key for op in ops if isinstance(op.request, Put) and op.request.lease}
    out = Verdicts()
    unseen = unnoticed_writes(ops) | never_applied(ops, store)
    current = [op for op in ops if _is_current(op) and op.index not in unseen
               and not set(keys_of(op.request)) & leased]
    claimed = claimed_revisions(ops)
    for keys, part in partitions(current):
        out.histories += 1
        _check_partition(keys, part, claimed, stamp, budget, out)
    out.findings += check_revision_order(ops, stamp)
    out.findings += check_historical_reads(ops, leased, stamp)
    return out


def _is_current(op: Operation) -> bool:
    """Takes part in the real-time search: a KV op that may have had an effect, or a read
    of the present that was answered."""
    req = op.request
    if op.failed or not isinstance(req, (Put, Get, Delete, Txn)):
        return False
    if isinstance(req, Get):
        return not req.historical and isinstance(op.response, Read)
    return True


def partitions(ops: Iterable[Operation]) -> list[tuple[tuple[bytes, ...], list[Operation]]]:
    """Group operations into independent histories: keys touched together belong together."""
    parent: dict[bytes, bytes] = {}

    def find(k: bytes) -> bytes:
        while parent.setdefault(k, k) != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k
    ops = list(ops)
    for op in ops:
        keys = keys_of(op.request)
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
    groups: dict[bytes, list[Operation]] = defaultdict(list)
    for op in ops:
        groups[find(keys_of(op.request)[0])].append(op)
    members: dict[bytes, set[bytes]] = defaultdict(set)
    for k in list(parent):
        members[find(k)].add(k)
    found = [(tuple(sorted(members[root])), part) for root, part in groups.items()]
    return sorted(found, key=lambda group: group[0])


def _check_partition(keys: tuple[bytes, ...], part: list[Operation], claimed: frozenset[int],
                     stamp: Callable[[int], str], budget: int, out: Verdicts) -> None:
    result = wgl.check(KVModel(keys, claimed), part, budget)
    names = ",".join(show(k) for k in keys)
    if result.verdict == wgl.UNDECIDED:
        out.undecided.append(f"keys {names}: search gave up after {result.steps} steps")
    elif result.verdict == wgl.FAIL:
        def is_bad(subset: list[Operation]) -> bool:
            # Only what the shown operations claim: the counterexample stands on its own.
            model = KVModel(keys, claimed_revisions(subset))
            return wgl.check(model, subset, SHRINK_BUDGET).verdict == wgl.FAIL
        small = sorted(shrink(part, is_bad, result.stuck), key=lambda op: op.invoke)
        out.findings.append(Finding(
            "linearizability",
            f"keys {names}: these {len(small)} operations (of {len(part)}) cannot be "
            f"ordered consistently with real time and etcd's revisions",
            tuple(describe_op(op, stamp) for op in small)))


def claimed_revisions(ops: Sequence[Operation]) -> frozenset[int]:
    """Revisions some write surely took: told to its client, or seen by a read."""
    claimed = set()
    for op in ops:
        req, resp = op.request, op.response
        if isinstance(req, Put) and isinstance(resp, Written) and resp.revision is not None:
            claimed.add(resp.revision)
        elif isinstance(req, Delete) and isinstance(resp, Written) and resp.deleted:
            claimed.add(resp.revision)
        elif isinstance(req, Txn) and isinstance(resp, TxnResult) and any(
                isinstance(sub, Put) for sub in (req.success if resp.succeeded else req.failure)):
            claimed.add(resp.revision)
    return frozenset(claimed)


# -- unknown writes that were seen --

def resolve_unknown_writes(ops: Sequence[Operation],
                           store: StoreHistory | None = None) -> list[Operation]:
    """Give an unanswered put (or one acknowledged without a revision) the mod_revision
    a read saw its (unique) value at, or else the store's history holds it at; and an
    unanswered txn whose put the store holds, success at that revision. What only the
    store vouches for must also be placed in the search (it surely took effect, at some
    time after its call): its answer is given a time after every other."""
    seen = _observed_values(ops)
    stored = {(k, v): r for k, v, r in _stored_puts(store) if (k, v) not in seen}
    out = []
    for op in ops:
        req, resp = op.request, op.response
        unsure = op.unknown or (isinstance(resp, Written) and resp.revision is None)
        if isinstance(req, Put) and unsure and (req.key, req.value) in seen:
            op = dataclasses.replace(op, response=Written(seen[req.key, req.value]))
        elif isinstance(req, Put) and unsure and (req.key, req.value) in stored:
            op = dataclasses.replace(op, response=Written(stored[req.key, req.value]),
                                     complete=EVENTUALLY)
        elif isinstance(req, Txn) and op.unknown and _only_puts(req.success):
            at = {stored.get((p.key, p.value)) for p in req.success}
            if len(at) == 1 and None not in at:
                op = dataclasses.replace(op, response=TxnResult(True, at.pop()),
                                         complete=EVENTUALLY)
        out.append(op)
    return out


def _stored_puts(store: StoreHistory | None) -> list[tuple[bytes, bytes, int]]:
    if store is None:
        return []
    return [(e.key, e.value, e.revision) for e in store.events if e.kind == PUT]


def _only_puts(branch: tuple) -> bool:
    return bool(branch) and all(isinstance(sub, Put) for sub in branch)


def never_applied(ops: Sequence[Operation], store: StoreHistory | None) -> set[int]:
    """Indices of unanswered puts and txns none of whose puts the store's complete
    history holds (nor any read saw): they never took effect, so they leave the search.
    Only with a history from the first revision (compaction could have dropped them)."""
    if store is None or store.complete_from > FIRST_REVISION:
        return set()
    there = {(k, v) for k, v, _ in _stored_puts(store)} | set(_observed_values(ops))
    return {index for index, puts in _unanswered_puts(ops)
            if puts and not any((p.key, p.value) in there for p in puts)}


def _observed_values(ops: Sequence[Operation]) -> dict[tuple[bytes, bytes], int]:
    seen: dict[tuple[bytes, bytes], int] = {}
    for op in ops:
        req, resp = op.request, op.response
        if isinstance(req, Get) and isinstance(resp, Read) and resp.kv is not None:
            seen.setdefault((req.key, resp.kv.value), resp.kv.mod)
        elif isinstance(req, Delete) and isinstance(resp, Written) and resp.prev:
            seen.setdefault((req.key, resp.prev[0].value), resp.prev[0].mod)
        elif isinstance(req, Txn) and isinstance(resp, TxnResult):
            branch = req.success if resp.succeeded else req.failure
            gets = [sub for sub in branch if isinstance(sub, Get)]
            for get, kv in zip(gets, resp.reads):
                if kv is not None:
                    seen.setdefault((get.key, kv.value), kv.mod)
    return seen


def unnoticed_writes(ops: Sequence[Operation]) -> set[int]:
    """Indices of unanswered puts and txns whose effect no other operation could tell."""
    seen = set(_observed_values(ops)) | _compared_values(ops)
    known = _known_revisions(ops)
    noticing = set()
    for op in ops:
        noticing |= _notices_without_reading(op, known)
    return {index for index, puts in _unanswered_puts(ops)
            if not any((p.key, p.value) in seen or p.key in noticing for p in puts)}


def _unanswered_puts(ops: Sequence[Operation]) -> Iterable[tuple[int, list[Put]]]:
    """(index, puts) of each unanswered put or txn that deletes nothing: a delete's effect
    cannot be told from its value, so such a write always stays in the search."""
    for op in ops:
        req = op.request
        if not op.unknown or not isinstance(req, (Put, Txn)):
            continue
        subs = [req] if isinstance(req, Put) else list(req.success + req.failure)
        if not any(isinstance(sub, Delete) for sub in subs):
            yield op.index, [sub for sub in subs if isinstance(sub, Put)]


def _compared_values(ops: Sequence[Operation]) -> set[tuple[bytes, bytes]]:
    """(key, value) of every value a successful txn found by comparing for equality."""
    return {(c.key, c.operand) for op in ops if isinstance(op.request, Txn)
            and isinstance(op.response, TxnResult) and op.response.succeeded
            for c in op.request.compare if c.target == "value" and c.result == "="}


def _known_revisions(ops: Sequence[Operation]) -> set[tuple[bytes, int]]:
    """(key, mod_revision) of every write whose revision someone was told or saw."""
    known = {(k, m) for (k, _), m in _observed_values(ops).items()}
    for op in ops:
        req, resp = op.request, op.response
        if isinstance(req, (Put, Delete)) and isinstance(resp, Written) and resp.revision:
            known.add((req.key, resp.revision))
        elif isinstance(req, Txn) and isinstance(resp, TxnResult):
            known.update((sub.key, resp.revision) for sub in req.success + req.failure
                         if isinstance(sub, Put))
    return known


def _notices_without_reading(op: Operation, known: set[tuple[bytes, int]]) -> set[bytes]:
    """Keys whose state `op`'s outcome depends on without a read showing the value."""
    req, resp = op.request, op.response
    if op.failed or op.unknown:
        return set()              # no answer: it told no one anything
    if isinstance(req, Delete):
        return {req.key} if not (isinstance(resp, Written) and resp.prev is not None) else set()
    if not isinstance(req, Txn) or not isinstance(resp, TxnResult):
        return set()
    keys = {sub.key for sub in req.success + req.failure if isinstance(sub, Delete)}
    branch = req.success if resp.succeeded else req.failure
    read = {sub.key for sub in branch if isinstance(sub, Get)}
    for c in req.compare:
        # A compare that held for a value or revision seen elsewhere tells nothing new;
        # one that failed, or held for anything else, tells something about the key.
        pinned = c.result == "=" and (c.operand == 0 or c.target == "value" or
                                      (c.target == "mod" and (c.key, c.operand) in known))
        if c.key not in read and not (resp.succeeded and pinned):
            keys.add(c.key)
    return keys


# -- revision order across every key --

def _revision_point(op: Operation) -> tuple[int, int] | None:
    """(revision, 0) for a write, (revision, 1) for a read of the present; None if the op
    says nothing about where the revision counter stood when it took effect."""
    req, resp = op.request, op.response
    if op.complete is None:
        return None
    if isinstance(resp, Written) and resp.revision is not None and isinstance(req, (Put, Delete)):
        return resp.revision, 0 if isinstance(req, Put) or resp.deleted else 1
    if isinstance(req, Get) and not req.historical and isinstance(resp, Read):
        return resp.revision, 1
    if isinstance(req, Txn) and isinstance(resp, TxnResult):
        branch = req.success if resp.succeeded else req.failure
        return resp.revision, 0 if any(isinstance(s, Put) for s in branch) else 1
    return None


def check_revision_order(ops: Sequence[Operation],
                         stamp: Callable[[int], str] = str) -> list[Finding]:
    points = [(op, p) for op in ops if (p := _revision_point(op)) is not None]
    findings = _duplicate_revisions(points, stamp)
    timeline = sorted([(op.invoke, 0, n) for n, (op, _) in enumerate(points)] +
                      [(op.complete, 1, n) for n, (op, _) in enumerate(points)])
    best: tuple[tuple[int, int], int] | None = None
    pairs = []
    for _, kind, n in timeline:
        point = points[n][1]
        if kind == 1:
            if best is None or point > best[0]:
                best = (point, n)
        elif best is not None and best[0] > point and len(pairs) < MAX_REPORTED:
            pairs.append((points[best[1]][0], points[n][0]))
    for before, after in pairs:
        findings.append(Finding(
            "linearizability",
            f"revision order: an operation answered at revision {_rev(before)} completed "
            f"before one answered at revision {_rev(after)} was invoked",
            (describe_op(before, stamp), describe_op(after, stamp))))
    return findings


def _rev(op: Operation) -> int:
    return _revision_point(op)[0]


def _duplicate_revisions(points: list, stamp: Callable[[int], str]) -> list[Finding]:
    by_rev: dict[int, list[Operation]] = defaultdict(list)
    for op, (rev, kind) in points:
        if kind == 0:
            by_rev[rev].append(op)
    return [Finding("linearizability", f"{len(same)} different writes claim revision {rev}",
                    tuple(describe_op(op, stamp) for op in same))
            for rev, same in sorted(by_rev.items()) if len(same) > 1][:MAX_REPORTED]


# -- reads of the past --

def check_historical_reads(ops: Sequence[Operation], leased: set[bytes],
                           stamp: Callable[[int], str] = str) -> list[Finding]:
    table, unsure = _revision_table(ops)
    findings = []
    for op in ops:
        req, resp = op.request, op.response
        if not (isinstance(req, Get) and req.historical and isinstance(resp, Read)):
            continue
        if req.key in leased:
            continue
        at = req.revision or resp.revision
        expected = _value_at(table.get(req.key, []), at)
        if _matches(resp, expected) or (resp.kv is None and req.key in unsure):
            continue
        shown = "absent" if expected is None or expected[1] is None else \
            f"{show(expected[1])}@{expected[0]}"
        findings.append(Finding(
            "linearizability", f"a read of {show(req.key)} at revision {at} disagrees with "
            f"the writes: at that revision the key was {shown}", (describe_op(op, stamp),)))
    return findings[:MAX_REPORTED]


def _revision_table(ops: Sequence[Operation]):
    """Per key, (revision, value or None for a delete) of every write with a known
    revision (an unanswered txn's, if one of its values was seen); and the keys some
    delete of unknown effect may have removed."""
    seen = _observed_values(ops)
    table: dict[bytes, list[tuple[int, bytes | None]]] = defaultdict(list)
    unsure: set[bytes] = set()
    for op in ops:
        req, resp = op.request, op.response
        if isinstance(req, Put) and isinstance(resp, Written) and resp.revision is not None:
            table[req.key].append((resp.revision, req.value))
        elif isinstance(req, Delete):
            if isinstance(resp, Written) and resp.deleted:
                table[req.key].append((resp.revision, None))
            elif op.unknown:
                unsure.add(req.key)
        elif isinstance(req, Txn) and not op.failed:
            _txn_writes(req, resp, table, unsure, seen)
    for writes in table.values():
        writes.sort(key=lambda w: w[0])
    return table, unsure


def _txn_writes(req: Txn, resp, table: dict, unsure: set, seen: dict) -> None:
    known = isinstance(resp, TxnResult)
    for succeeded in ((resp.succeeded,) if known else (True, False)):
        branch = req.success if succeeded else req.failure
        unsure.update(sub.key for sub in branch if isinstance(sub, Delete))
        puts = [sub for sub in branch if isinstance(sub, Put)]
        revs = [seen[p.key, p.value] for p in puts if (p.key, p.value) in seen]
        rev = resp.revision if known else (revs[0] if revs else None)
        if rev is not None:
            for p in puts:
                table[p.key].append((rev, p.value))


def _value_at(writes: list[tuple[int, bytes | None]], rev: int):
    found = None
    for w in writes:
        if w[0] > rev:
            break
        found = w
    return found


def _matches(resp: Read, expected) -> bool:
    if resp.kv is None:
        return expected is None or expected[1] is None
    return expected is not None and expected == (resp.kv.mod, resp.kv.value)
