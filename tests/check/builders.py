"""Short ways to write histories in tests: `h = History(); h.put("c1", 0, 2, "a", "1", rev=2)`."""

from __future__ import annotations

from engine.check import (
    KV, Delete, Failed, Get, LeaseAlive, LeaseExpire, LeaseGrant, LeaseGranted,
    LeaseKeepAlive, LeaseRevoke, Operation, Put, Read, StoreEvent, Txn, TxnResult, Written,
)


def b(text: str) -> bytes:
    return text.encode()


class History:
    def __init__(self) -> None:
        self.ops: list[Operation] = []

    def add(self, client, invoke, complete, request, response) -> Operation:
        op = Operation(len(self.ops), client, invoke, complete, request,
                       response if complete is not None else None)
        self.ops.append(op)
        return op

    def put(self, client, t0, t1, key, value, rev=None, lease=0):
        resp = Written(rev) if t1 is not None else None
        return self.add(client, t0, t1, Put(b(key), b(value), lease), resp)

    def get(self, client, t0, t1, key, value=None, mod=0, rev=1, at=0, serializable=False):
        kv = None if value is None else KV(b(value), mod)
        return self.add(client, t0, t1, Get(b(key), at, serializable), Read(rev, kv))

    def delete(self, client, t0, t1, key, rev=None, deleted=1):
        resp = Written(rev, deleted) if t1 is not None else None
        return self.add(client, t0, t1, Delete(b(key)), resp)

    def txn(self, client, t0, t1, compare, success, failure=(), result=None):
        return self.add(client, t0, t1, Txn(tuple(compare), tuple(success), tuple(failure)),
                        result)

    def fail(self, client, t0, t1, request, definite=True):
        return self.add(client, t0, t1, request, Failed("refused", definite))

    def grant(self, client, t0, t1, lease, ttl):
        return self.add(client, t0, t1, LeaseGrant(lease, ttl), LeaseGranted(ttl))

    def keepalive(self, client, t0, t1, lease, ttl):
        return self.add(client, t0, t1, LeaseKeepAlive(lease), LeaseAlive(ttl))

    def revoke(self, client, t0, t1, lease, rev):
        return self.add(client, t0, t1, LeaseRevoke(lease), Written(rev))

    def expire(self, t0, t1, lease, rev):
        return self.add("leader", t0, t1, LeaseExpire(lease),
                        Written(rev) if t1 is not None else None)


def kv(value, mod):
    return KV(b(value), mod)


def txn_result(succeeded, rev, *reads):
    return TxnResult(succeeded, rev, tuple(reads))


def ev(rev, key, value=None, lease=0):
    """A put event, or a delete event when value is None."""
    if value is None:
        return StoreEvent(rev, b(key), "delete")
    return StoreEvent(rev, b(key), "put", b(value), lease)
