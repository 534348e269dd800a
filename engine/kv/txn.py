"""Deciding a txn before running it: its compares, its branches, and what may fail.

As in etcd, every compare of a txn and of all the txns nested in its chosen branch is
evaluated against the store as it was before the txn, and the chosen branches are then
checked for anything that would fail part-way (a put needing a key or lease that is not
there, a read at a revision out of reach). Only then does the txn write, so it either
applies whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ErrorKind, KVError
from .keys import KeySpan
from .lease import Lessor
from .mvcc import ReadView
from .types import (Compare, CompareResult, CompareTarget, DeleteRangeRequest, KeyValue,
                    PutRequest, RangeRequest, RequestOp, TxnRequest)

_ABSENT = KeyValue(key=b"")  # what a compare sees for a missing key: zeros everywhere


@dataclass(frozen=True, slots=True)
class Branch:
    """The ops a txn will run, and for each nested txn among them, its own Branch."""
    succeeded: bool
    ops: tuple[RequestOp, ...]
    nested: tuple[Branch | None, ...]


def choose_branch(view: ReadView, txn: TxnRequest) -> Branch:
    succeeded = all(compare_holds(view, compare) for compare in txn.compare)
    ops = txn.success if succeeded else txn.failure
    nested = tuple(choose_branch(view, op) if isinstance(op, TxnRequest) else None
                   for op in ops)
    return Branch(succeeded, ops, nested)


def compare_holds(view: ReadView, compare: Compare) -> bool:
    """etcd's applyCompare: true if the compare holds for every key in its range; with no
    key there, a VALUE compare fails and any other compares against zero."""
    kvs = view.range(KeySpan.of(compare.key, compare.range_end))
    if not kvs:
        return compare.target is not CompareTarget.VALUE and _compare_kv(compare, _ABSENT)
    return all(_compare_kv(compare, kv) for kv in kvs)


_TARGET_FIELD = {
    CompareTarget.VERSION: "version",
    CompareTarget.CREATE: "create_revision",
    CompareTarget.MOD: "mod_revision",
    CompareTarget.VALUE: "value",
    CompareTarget.LEASE: "lease",
}


def _compare_kv(compare: Compare, kv: KeyValue) -> bool:
    name = _TARGET_FIELD[compare.target]
    have, want = getattr(kv, name), getattr(compare, name)
    if compare.result is CompareResult.EQUAL:
        return have == want
    if compare.result is CompareResult.NOT_EQUAL:
        return have != want
    if compare.result is CompareResult.GREATER:
        return have > want
    return have < want


def check_branch(view: ReadView, lessor: Lessor, branch: Branch) -> None:
    """Raise what the chosen ops would fail with part-way, before anything is written."""
    for op, nested in zip(branch.ops, branch.nested):
        if nested is not None:
            check_branch(view, lessor, nested)
        elif isinstance(op, PutRequest):
            check_put(view, lessor, op)
        elif isinstance(op, RangeRequest) and op.revision:
            view.check_revision(op.revision)


def check_put(view: ReadView, lessor: Lessor, put: PutRequest) -> None:
    """ignore_value/ignore_lease need the key to exist; a lease must exist to be attached."""
    if (put.ignore_value or put.ignore_lease) and view.get(put.key) is None:
        raise KVError(ErrorKind.KEY_NOT_FOUND)
    if put.lease and lessor.lookup(put.lease) is None:
        raise KVError(ErrorKind.LEASE_NOT_FOUND)


def is_read_only(txn: TxnRequest) -> bool:
    """Whether neither branch, nested txns included, can write (etcd's isTxnReadonly)."""
    for op in txn.success + txn.failure:
        if isinstance(op, (PutRequest, DeleteRangeRequest)):
            return False
        if isinstance(op, TxnRequest) and not is_read_only(op):
            return False
    return True
