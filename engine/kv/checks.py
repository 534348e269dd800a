"""Checks a request must pass before it is proposed, etcd's gRPC-layer validation.

These depend only on the request (and the configured txn op limit), never on the store, so
the host can run them before proposing and `KVStore.apply` runs them again: every member
reaches the same verdict. The txn duplicate-key rule follows etcd's checkIntervals: no key
may be put twice, nor put and deleted, in one txn; a nested txn's success and failure
branches exclude each other, so they may put the same key. Two deletes may overlap.
"""

from __future__ import annotations

from collections.abc import Collection

from .errors import ErrorKind, KVError
from .keys import KeySpan
from .types import DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest

DEFAULT_MAX_TXN_OPS = 128


def validate_request(request: object, max_txn_ops: int = DEFAULT_MAX_TXN_OPS) -> None:
    """Raise KVError if `request` is malformed; requests without rules pass."""
    if isinstance(request, TxnRequest):
        _check_txn(request, max_txn_ops)
        _check_duplicates(request.success)
        _check_duplicates(request.failure)
    elif isinstance(request, (RangeRequest, PutRequest, DeleteRangeRequest)):
        _check_op(request, max_txn_ops)


def _check_op(op: RequestOp, max_txn_ops: int) -> None:
    if isinstance(op, TxnRequest):
        _check_txn(op, max_txn_ops)
        return
    if not op.key:
        raise KVError(ErrorKind.EMPTY_KEY)
    if isinstance(op, PutRequest):
        if op.ignore_value and op.value:
            raise KVError(ErrorKind.VALUE_PROVIDED)
        if op.ignore_lease and op.lease:
            raise KVError(ErrorKind.LEASE_PROVIDED)


def _check_txn(txn: TxnRequest, max_txn_ops: int) -> None:
    # The limit is per list, and a nested txn gets what its parent's longest list leaves.
    width = max(len(txn.compare), len(txn.success), len(txn.failure))
    if width > max_txn_ops:
        raise KVError(ErrorKind.TOO_MANY_OPS)
    if any(not compare.key for compare in txn.compare):
        raise KVError(ErrorKind.EMPTY_KEY)
    for op in txn.success + txn.failure:
        _check_op(op, max_txn_ops - width)


def _check_duplicates(ops: tuple[RequestOp, ...]) -> tuple[set[bytes], list[KeySpan]]:
    """The keys put and the spans deleted by `ops` (nested txns included); raise on a
    conflict between them."""
    deletes = [KeySpan.of(op.key, op.range_end) for op in ops
               if isinstance(op, DeleteRangeRequest)]
    puts: set[bytes] = set()
    for op in ops:
        if not isinstance(op, TxnRequest):
            continue
        puts_then, deletes_then = _check_duplicates(op.success)
        puts_else, deletes_else = _check_duplicates(op.failure)
        for key in puts_then:
            _claim(puts, deletes, key)
        for key in puts_else:
            _claim(puts, deletes, key, allowed=puts_then)
        deletes += deletes_then + deletes_else
    for op in ops:
        if isinstance(op, PutRequest):
            _claim(puts, deletes, op.key)
    return puts, deletes


def _claim(puts: set[bytes], deletes: list[KeySpan], key: bytes,
           allowed: Collection[bytes] = ()) -> None:
    if (key in puts and key not in allowed) or any(span.contains(key) for span in deletes):
        raise KVError(ErrorKind.DUPLICATE_KEY)
    puts.add(key)
