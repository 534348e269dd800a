"""A recorded history: what each client asked, when, and what it was told.

The vocabulary is the checkers' own (plain frozen values, no engine.kv types), so a history
recorded from the simulator, the live cluster or a real etcd can be checked alike. An
`Operation` has an invoke and a complete stamp from one clock that never repeats a value
(so "A completed before B was invoked" is `A.complete < B.invoke`). A response of None
means no answer ever came (a timeout, a lost connection): the operation may or may not
have taken effect, as Jepsen's `:info`. `Failed(definite=True)` means it surely did not.

Revisions are etcd's: one per write transaction, starting after 1; a write's response
carries the revision it created, a read's the store revision it read at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Union

PUT, DELETE = "put", "delete"


@dataclass(frozen=True, slots=True)
class KV:
    """A key's value as a read returned it."""
    value: bytes
    mod: int                 # mod_revision
    create: int = 0
    version: int = 0
    lease: int = 0


# -- requests --

@dataclass(frozen=True, slots=True)
class Put:
    key: bytes
    value: bytes
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Get:
    """`revision` > 0 reads the past; `serializable` reads a member's local state."""
    key: bytes
    revision: int = 0
    serializable: bool = False

    @property
    def historical(self) -> bool:
        """Not bound to real time: it reads a fixed revision, not the present."""
        return self.revision > 0 or self.serializable


@dataclass(frozen=True, slots=True)
class Delete:
    key: bytes


@dataclass(frozen=True, slots=True)
class Compare:
    """etcd's Compare on one key: target is value, mod, version or create; result is one
    of = != > <; `operand` is bytes for value, an int otherwise."""
    key: bytes
    target: str
    result: str
    operand: bytes | int


TxnOp = Union[Put, Get, Delete]


@dataclass(frozen=True, slots=True)
class Txn:
    compare: tuple[Compare, ...]
    success: tuple[TxnOp, ...]
    failure: tuple[TxnOp, ...] = ()


@dataclass(frozen=True, slots=True)
class LeaseGrant:
    lease: int
    ttl: int


@dataclass(frozen=True, slots=True)
class LeaseKeepAlive:
    lease: int


@dataclass(frozen=True, slots=True)
class LeaseRevoke:
    lease: int


@dataclass(frozen=True, slots=True)
class LeaseExpire:
    """Not a client's: a leader proposing to revoke a lease it found expired."""
    lease: int


# -- responses --

@dataclass(frozen=True, slots=True)
class Written:
    """A put, delete or revoke took effect. `revision` None: acknowledged without one.
    A delete that asked for them reports what it removed in `prev` (None: not asked)."""
    revision: int | None
    deleted: int = 0
    prev: tuple[KV, ...] | None = None


@dataclass(frozen=True, slots=True)
class Read:
    revision: int            # the header revision
    kv: KV | None            # None: the key does not exist


@dataclass(frozen=True, slots=True)
class TxnResult:
    succeeded: bool
    revision: int
    reads: tuple[KV | None, ...] = ()    # one per Get of the branch that ran, in order


@dataclass(frozen=True, slots=True)
class LeaseGranted:
    ttl: int


@dataclass(frozen=True, slots=True)
class LeaseAlive:
    ttl: int


@dataclass(frozen=True, slots=True)
class Failed:
    error: str
    definite: bool = True     # False: it may still have taken effect


@dataclass(frozen=True, slots=True)
class Operation:
    index: int
    client: str
    invoke: int
    complete: int | None      # None: no answer came
    request: object
    response: object | None   # None exactly when complete is None

    @property
    def unknown(self) -> bool:
        """May or may not have taken effect."""
        r = self.response
        return r is None or (isinstance(r, Failed) and not r.definite)

    @property
    def failed(self) -> bool:
        """Surely took no effect."""
        return isinstance(self.response, Failed) and self.response.definite


# The answer time given to a write that had no answer but that the store's history shows
# took effect: some time after its call, before the end of the history (wgl's NEVER
# is 1 << 62: after it).
EVENTUALLY = (1 << 62) - 1


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """One change in a member's store history (what a watch from revision 1 would see)."""
    revision: int
    key: bytes
    kind: str                 # PUT or DELETE
    value: bytes = b""
    lease: int = 0


@dataclass(frozen=True, slots=True)
class StoreHistory:
    """A member's changes in revision order; complete for revisions >= complete_from
    (compaction drops what lies below)."""
    events: tuple[StoreEvent, ...]
    complete_from: int
    current: int


# -- text --

def show(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace")


def keys_of(request: object) -> tuple[bytes, ...]:
    """Every key a KV request reads or writes (none for lease requests)."""
    if isinstance(request, (Put, Get, Delete)):
        return (request.key,)
    if isinstance(request, Txn):
        keys = [c.key for c in request.compare]
        keys += [op.key for op in request.success + request.failure]
        return tuple(dict.fromkeys(keys))
    return ()


def describe_request(req: object) -> str:
    if isinstance(req, Put):
        lease = f" lease {req.lease:x}" if req.lease else ""
        return f"put {show(req.key)}={show(req.value)}{lease}"
    if isinstance(req, Get):
        how = f"@{req.revision}" if req.revision else (" serializable" if req.serializable else "")
        return f"get {show(req.key)}{how}"
    if isinstance(req, Delete):
        return f"delete {show(req.key)}"
    if isinstance(req, Txn):
        cond = " && ".join(_describe_compare(c) for c in req.compare) or "true"
        then = "; ".join(describe_request(op) for op in req.success)
        other = "; ".join(describe_request(op) for op in req.failure)
        return f"txn if {cond} then [{then}] else [{other}]"
    if isinstance(req, LeaseGrant):
        return f"lease grant {req.lease:x} ttl {req.ttl}s"
    names = {LeaseKeepAlive: "keepalive", LeaseRevoke: "revoke", LeaseExpire: "expire"}
    if type(req) in names:
        return f"lease {names[type(req)]} {req.lease:x}"
    return repr(req)


def _describe_compare(c: Compare) -> str:
    operand = show(c.operand) if isinstance(c.operand, bytes) else str(c.operand)
    return f"{c.target}({show(c.key)}) {c.result} {operand}"


def describe_kv(kv: KV | None) -> str:
    return "absent" if kv is None else f"{show(kv.value)}@{kv.mod}"


def describe_response(resp: object) -> str:
    if resp is None:
        return "no answer (unknown)"
    if isinstance(resp, Written):
        rev = "?" if resp.revision is None else resp.revision
        deleted = f" deleted {resp.deleted}" if resp.deleted else ""
        if resp.prev:
            deleted += " (" + ", ".join(describe_kv(kv) for kv in resp.prev) + ")"
        return f"ok rev {rev}{deleted}"
    if isinstance(resp, Read):
        return f"{describe_kv(resp.kv)} (rev {resp.revision})"
    if isinstance(resp, TxnResult):
        reads = "".join(f" read {describe_kv(kv)}" for kv in resp.reads)
        return f"{'succeeded' if resp.succeeded else 'failed'} rev {resp.revision}{reads}"
    if isinstance(resp, (LeaseGranted, LeaseAlive)):
        return f"ok ttl {resp.ttl}s"
    if isinstance(resp, Failed):
        return f"error: {resp.error}" + ("" if resp.definite else " (may have happened)")
    return repr(resp)


def describe_op(op: Operation, stamp: Callable[[int], str] = str) -> str:
    """One line: client, invoke..complete, the request and what the client was told."""
    end = stamp(op.complete) if op.complete not in (None, EVENTUALLY) else "?"
    told = describe_response(op.response)
    if op.complete is None and isinstance(op.response, Written):
        told = f"no answer; a read saw it take effect at rev {op.response.revision}"
    elif op.complete == EVENTUALLY:
        told = f"no answer; the store's history has its write at rev {op.response.revision}"
    return f"{op.client:>10}  {stamp(op.invoke)}..{end}  {describe_request(op.request)}  -> {told}"
