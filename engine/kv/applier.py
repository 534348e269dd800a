"""Running key-value requests against the store: Range, Put, DeleteRange and Txn.

This is etcd's applierV3backend for the keyspace part: it turns one request into reads and
changes on a view or write transaction of `MVCCStore` and builds the response. Every
response header carries the revision as of the end of that operation, so inside a txn a
put reports the txn's new revision and a read before any write reports the old one.
"""

from __future__ import annotations

from dataclasses import replace

from .keys import KeySpan
from .lease import Lessor
from .mvcc import MVCCStore, Record, ReadView, WriteTxn
from .txn import Branch, check_branch, check_put, choose_branch
from .types import (DeleteRangeRequest, KeyValue, PutRequest, PutResponse, RangeRequest,
                    RangeResponse, DeleteRangeResponse, RequestOp, ResponseHeader,
                    ResponseOp, SortOrder, SortTarget, TxnRequest, TxnResponse)

_SORT_KEYS = {
    SortTarget.KEY: lambda kv: kv.key,
    SortTarget.VERSION: lambda kv: kv.version,
    SortTarget.CREATE: lambda kv: kv.create_revision,
    SortTarget.MOD: lambda kv: kv.mod_revision,
    SortTarget.VALUE: lambda kv: kv.value,
}


def apply_range(view: ReadView, req: RangeRequest) -> RangeResponse:
    kvs = view.range(KeySpan.of(req.key, req.range_end), req.revision)
    # etcd counts the keys in range before the revision filters and the limit.
    count = len(kvs)
    header = ResponseHeader(view.rev)
    if req.count_only:
        return RangeResponse(header, count=count)
    kvs = _sorted(_filtered(kvs, req), req)
    more = 0 < req.limit < len(kvs)
    if more:
        kvs = kvs[:req.limit]
    if req.keys_only:
        kvs = [replace(kv, value=b"") for kv in kvs]
    return RangeResponse(header, tuple(kvs), more, count)


def _filtered(kvs: list[KeyValue], req: RangeRequest) -> list[KeyValue]:
    # A bound of 0 means "no bound", as in etcd.
    bounds = (
        (req.min_mod_revision, req.max_mod_revision, lambda kv: kv.mod_revision),
        (req.min_create_revision, req.max_create_revision, lambda kv: kv.create_revision),
    )
    for low, high, field in bounds:
        if low:
            kvs = [kv for kv in kvs if field(kv) >= low]
        if high:
            kvs = [kv for kv in kvs if field(kv) <= high]
    return kvs


def _sorted(kvs: list[KeyValue], req: RangeRequest) -> list[KeyValue]:
    order = req.sort_order
    if order is SortOrder.NONE and req.sort_target is not SortTarget.KEY:
        # etcd's quirk: naming a target other than KEY without an order sorts ascending.
        order = SortOrder.ASCEND
    if order is SortOrder.NONE or (order is SortOrder.ASCEND
                                   and req.sort_target is SortTarget.KEY):
        return kvs  # ranges come out in ascending key order already
    # Python's sort is stable, so ties keep key order (etcd leaves them unspecified).
    return sorted(kvs, key=_SORT_KEYS[req.sort_target], reverse=order is SortOrder.DESCEND)


def apply_put(txn: WriteTxn, req: PutRequest) -> PutResponse:
    """Put inside a write txn; `check_put` must have passed."""
    prev = txn.get(req.key) if (req.prev_kv or req.ignore_value or req.ignore_lease) else None
    value = prev.value if req.ignore_value and prev else req.value
    lease = prev.lease if req.ignore_lease and prev else req.lease
    txn.put(req.key, value, lease)
    return PutResponse(ResponseHeader(txn.rev), prev if req.prev_kv else None)


def apply_delete_range(txn: WriteTxn, req: DeleteRangeRequest) -> DeleteRangeResponse:
    span = KeySpan.of(req.key, req.range_end)
    prev_kvs = tuple(txn.range(span)) if req.prev_kv else ()
    deleted = txn.delete_range(span)
    return DeleteRangeResponse(ResponseHeader(txn.rev), deleted, prev_kvs)


def run_put(store: MVCCStore, lessor: Lessor, req: PutRequest) -> tuple[PutResponse, list[Record]]:
    check_put(store.view(), lessor, req)
    txn = store.write(lessor)
    resp = apply_put(txn, req)
    return resp, txn.end()


def run_delete_range(store: MVCCStore, lessor: Lessor,
                     req: DeleteRangeRequest) -> tuple[DeleteRangeResponse, list[Record]]:
    txn = store.write(lessor)
    resp = apply_delete_range(txn, req)
    return resp, txn.end()


def run_txn(store: MVCCStore, lessor: Lessor,
            req: TxnRequest) -> tuple[TxnResponse, list[Record]]:
    """Decide, check, then run a txn as one write transaction (one revision at most)."""
    branch = choose_branch(store.view(), req)
    check_branch(store.view(), lessor, branch)
    txn = store.write(lessor)
    resp = _run_branch(txn, branch)
    return resp, txn.end()


def _run_branch(txn: WriteTxn, branch: Branch) -> TxnResponse:
    responses = tuple(_run_op(txn, op, nested) for op, nested in zip(branch.ops, branch.nested))
    return TxnResponse(ResponseHeader(txn.rev), branch.succeeded, responses)


def _run_op(txn: WriteTxn, op: RequestOp, nested: Branch | None) -> ResponseOp:
    if nested is not None:
        return _run_branch(txn, nested)
    if isinstance(op, RangeRequest):
        return apply_range(txn, op)
    if isinstance(op, PutRequest):
        return apply_put(txn, op)
    return apply_delete_range(txn, op)
