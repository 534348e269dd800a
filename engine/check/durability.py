"""Durability: what was acknowledged survives every crash, and nothing appears that no one
wrote. Checked against the store history every member agrees on at the end of a run.

- every acknowledged put is in the history, at the revision its client was told (or, if
  it was told none, at some revision);
- every acknowledged delete that removed something is a delete event at its revision;
- every put event in the history comes from a put some client asked for and was not
  refused, exactly once (a write applied twice is as wrong as a lost one);
- every delete event comes from a delete, a txn, or the revocation of the lease the key
  was attached to.

Revisions below the history's `complete_from` were compacted away and are not checked.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Callable, Sequence

from .findings import Finding, Verdicts
from .history import (
    DELETE, PUT, Delete, LeaseExpire, LeaseRevoke, Operation, Put, StoreHistory, Txn,
    TxnResult, Written, describe_op, show,
)
from .watch import describe_event

MAX_SHOWN = 5


def check_durability(ops: Sequence[Operation], store: StoreHistory,
                     stamp: Callable[[int], str] = str) -> Verdicts:
    out = Verdicts(histories=1)
    out.findings += _lost_puts(ops, store, stamp)
    out.findings += _lost_deletes(ops, store, stamp)
    out.findings += _unexplained_puts(ops, store)
    out.findings += _unexplained_deletes(ops, store)
    return out


def _acked_puts(ops: Sequence[Operation]):
    """(op, key, value, revision or None) of every put whose client was told it worked."""
    for op in ops:
        req, resp = op.request, op.response
        if op.complete is None:
            continue
        if isinstance(req, Put) and isinstance(resp, Written):
            yield op, req.key, req.value, resp.revision
        elif isinstance(req, Txn) and isinstance(resp, TxnResult):
            for sub in (req.success if resp.succeeded else req.failure):
                if isinstance(sub, Put):
                    yield op, sub.key, sub.value, resp.revision


def _lost_puts(ops, store: StoreHistory, stamp) -> list[Finding]:
    puts = {(e.revision, e.key, e.value) for e in store.events if e.kind == PUT}
    anywhere = {(e.key, e.value) for e in store.events if e.kind == PUT}
    compacted = store.complete_from > 2
    lost = []
    for op, key, value, rev in _acked_puts(ops):
        if rev is not None and rev >= store.complete_from and (rev, key, value) not in puts:
            lost.append(op)
        elif rev is None and not compacted and (key, value) not in anywhere:
            lost.append(op)
    if not lost:
        return []
    return [Finding("durability", f"{len(lost)} acknowledged write(s) missing from the "
                    f"store history", tuple(describe_op(op, stamp) for op in lost[:MAX_SHOWN]))]


def _lost_deletes(ops, store: StoreHistory, stamp) -> list[Finding]:
    deletes = {(e.revision, e.key) for e in store.events if e.kind == DELETE}
    lost = [op for op in ops if isinstance(op.request, Delete) and op.complete is not None
            and isinstance(op.response, Written) and op.response.deleted
            and op.response.revision >= store.complete_from
            and (op.response.revision, op.request.key) not in deletes]
    if not lost:
        return []
    return [Finding("durability", f"{len(lost)} acknowledged delete(s) missing from the "
                    f"store history", tuple(describe_op(op, stamp) for op in lost[:MAX_SHOWN]))]


def _asked_puts(ops: Sequence[Operation]) -> dict[tuple[bytes, bytes], set[int | None]]:
    """(key, value) of every put not refused, with the revisions its client was told."""
    asked: dict[tuple[bytes, bytes], set[int | None]] = defaultdict(set)
    for op in ops:
        if op.failed:
            continue
        req, resp = op.request, op.response
        subs = [req] if isinstance(req, Put) else \
            list(req.success + req.failure) if isinstance(req, Txn) else []
        for sub in subs:
            if isinstance(sub, Put):
                told = resp.revision if isinstance(resp, (Written, TxnResult)) and \
                    op.complete is not None else None
                asked[sub.key, sub.value].add(told)
    return asked


def _unexplained_puts(ops, store: StoreHistory) -> list[Finding]:
    asked = _asked_puts(ops)
    events = [e for e in store.events if e.kind == PUT and e.revision >= store.complete_from]
    twice = [k for k, n in Counter((e.key, e.value) for e in events).items() if n > 1]
    found = []
    strays = [e for e in events if (e.key, e.value) not in asked or
              (None not in asked[e.key, e.value] and e.revision not in asked[e.key, e.value])]
    if strays:
        found.append(Finding("durability", f"{len(strays)} put(s) in the store that no client "
                             f"asked for at that revision",
                             tuple(describe_event(e) for e in strays[:MAX_SHOWN])))
    if twice:
        shown = tuple(describe_event(e) for e in events if (e.key, e.value) in set(twice))
        found.append(Finding("durability", f"{len(twice)} write(s) applied more than once",
                             shown[:MAX_SHOWN]))
    return found


def _unexplained_deletes(ops, store: StoreHistory) -> list[Finding]:
    deleters = set()
    for op in ops:
        req = op.request
        if isinstance(req, Delete) and not op.failed:
            deleters.add(req.key)
        elif isinstance(req, Txn) and not op.failed:
            deleters.update(s.key for s in req.success + req.failure if isinstance(s, Delete))
    revoked = any(isinstance(op.request, (LeaseRevoke, LeaseExpire)) for op in ops)
    leased: dict[bytes, int] = {}
    strays = []
    for e in store.events:
        if e.kind == PUT:
            leased[e.key] = e.lease
        elif e.revision >= store.complete_from and e.key not in deleters and \
                not (revoked and leased.get(e.key)):
            strays.append(e)
    if not strays:
        return []
    return [Finding("durability", f"{len(strays)} delete(s) of key(s) no one deleted "
                    f"(first: {show(strays[0].key)})",
                    tuple(describe_event(e) for e in strays[:MAX_SHOWN]))]
