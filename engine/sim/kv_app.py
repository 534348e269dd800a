"""The keyspace as a SimNode's application, and how its results become checkable history.

Every entry a client caused carries `[u8 kind][u64 request id][encoded request]` (the live
cluster's envelope layout), so the member the request was proposed to can tell, when it
applies the entry, whose request it was and answer with its own result. `KVApp` applies
entries to a `KVStore` on the member's own (drifting) clock and reports each result.

The `to_*` functions translate engine.kv requests and responses into the checkers'
vocabulary (engine.check.history), which knows nothing of engine.kv.
"""

from __future__ import annotations

import struct
from typing import Protocol

from engine import check
from engine.kv import (
    DeleteRangeRequest, DeleteRangeResponse, EventType, KVConfig, KVError, KVStore,
    LeaseGrantRequest, LeaseGrantResponse, LeaseRevokeRequest, LeaseRevokeResponse,
    PutRequest, PutResponse, RangeRequest, RangeResponse, Request, Response, TxnRequest,
    TxnResponse, WatchResponse, decode_request, encode_request,
)
from engine.kv.snapshot import decode_snapshot
from engine.raft import Entry

_HEAD = struct.Struct(">BQ")
KIND_KV = 1


def wrap(request_id: int, request: Request) -> bytes:
    return _HEAD.pack(KIND_KV, request_id) + encode_request(request)


def unwrap(data: bytes) -> tuple[int, Request] | None:
    """The request id and request an entry carries; None for other entries (a new term's
    empty entry, the world's liveness probes)."""
    if len(data) < _HEAD.size or data[0] != KIND_KV:
        return None
    (_, request_id) = _HEAD.unpack_from(data)
    return request_id, decode_request(data[_HEAD.size:])


class Decoded:
    """Entries decoded once for the whole cluster: every member applies the same bytes,
    and decoding (strict JSON) is the dearest part of applying."""

    LIMIT = 4096

    def __init__(self) -> None:
        self.cache: dict[bytes, tuple[int, Request] | None] = {}

    def __call__(self, data: bytes) -> tuple[int, Request] | None:
        found = self.cache.get(data, self)
        if found is self:
            if len(self.cache) >= self.LIMIT:
                self.cache.clear()
            found = self.cache[data] = unwrap(data)
        return found


class Hooks(Protocol):
    def node_seconds(self, node: int) -> float: ...
    def on_applied(self, node: int, request_id: int, request: Request,
                   response: Response | None, error: KVError | None) -> None: ...


class KVApp:
    """What one SimNode applies its log to: a KVStore."""

    def __init__(self, hooks: Hooks, node: int, config: KVConfig,
                 decode: Decoded | None = None) -> None:
        self.hooks, self.node = hooks, node
        self.store = KVStore(config)
        self.decode = decode or Decoded()
        self.grant_deadlines: dict[int, float] = {}   # lease -> apply time + TTL, own clock

    def apply(self, entry: Entry) -> None:
        carried = self.decode(entry.data)
        if carried is None:
            self.store.advance_consistent_index(entry.index)
            return
        request_id, request = carried
        now = self.hooks.node_seconds(self.node)
        try:
            response = self.store.apply(request, index=entry.index, now=now)
        except KVError as error:
            self.hooks.on_applied(self.node, request_id, request, None, error)
            return
        if response is None:
            return                      # replayed after a restart: applied before
        if isinstance(response, LeaseGrantResponse):
            self.grant_deadlines[response.id] = now + response.ttl
        self.hooks.on_applied(self.node, request_id, request, response, None)

    def snapshot(self) -> bytes:
        return self.store.snapshot()

    def restore(self, data: bytes) -> None:
        self.store.install_snapshot(data)


class KVAppFactory:
    """`SimNode.app_factory` for one member: a fresh store at every (re)start."""

    def __init__(self, hooks: Hooks, node: int, config: KVConfig, decode: Decoded) -> None:
        self.hooks, self.node, self.config, self.decode = hooks, node, config, decode

    def __call__(self) -> KVApp:
        return KVApp(self.hooks, self.node, self.config, self.decode)


# -- into the checkers' vocabulary --

def to_request(req: Request) -> object:
    if isinstance(req, PutRequest):
        return check.Put(req.key, req.value, req.lease)
    if isinstance(req, RangeRequest):
        return check.Get(req.key, req.revision, req.serializable)
    if isinstance(req, DeleteRangeRequest):
        return check.Delete(req.key)
    if isinstance(req, TxnRequest):
        compares = tuple(check.Compare(c.key, _TARGETS[c.target.name], _RESULTS[c.result.name],
                                       getattr(c, _OPERANDS[c.target.name]))
                         for c in req.compare)
        return check.Txn(compares, tuple(to_request(op) for op in req.success),
                         tuple(to_request(op) for op in req.failure))
    if isinstance(req, LeaseGrantRequest):
        return check.LeaseGrant(req.id, req.ttl)
    if isinstance(req, LeaseRevokeRequest):
        return check.LeaseRevoke(req.id)
    return req


_TARGETS = {"VERSION": "version", "CREATE": "create", "MOD": "mod", "VALUE": "value"}
_OPERANDS = {"VERSION": "version", "CREATE": "create_revision", "MOD": "mod_revision",
             "VALUE": "value"}
_RESULTS = {"EQUAL": "=", "NOT_EQUAL": "!=", "GREATER": ">", "LESS": "<"}


def to_response(resp: Response, req: Request | None = None) -> object:
    if isinstance(resp, PutResponse):
        return check.Written(resp.header.revision)
    if isinstance(resp, DeleteRangeResponse):
        asked = isinstance(req, DeleteRangeRequest) and req.prev_kv
        prev = tuple(to_kv(kv) for kv in resp.prev_kvs) if asked else None
        return check.Written(resp.header.revision, resp.deleted, prev)
    if isinstance(resp, RangeResponse):
        kv = resp.kvs[0] if resp.kvs else None
        return check.Read(resp.header.revision, to_kv(kv))
    if isinstance(resp, TxnResponse):
        reads = tuple(to_kv(r.kvs[0] if r.kvs else None) for r in resp.responses
                      if isinstance(r, RangeResponse))
        return check.TxnResult(resp.succeeded, resp.header.revision, reads)
    if isinstance(resp, LeaseGrantResponse):
        return check.LeaseGranted(resp.ttl)
    if isinstance(resp, LeaseRevokeResponse):
        return check.Written(resp.header.revision)
    return resp


def to_kv(kv) -> check.KV | None:
    if kv is None:
        return None
    return check.KV(kv.value, kv.mod_revision, kv.create_revision, kv.version, kv.lease)


def to_event(e) -> check.StoreEvent:
    kind = check.PUT if e.type is EventType.PUT else check.DELETE
    return check.StoreEvent(e.kv.mod_revision, e.kv.key, kind, e.kv.value, e.kv.lease)


def to_reply(at: int, r: WatchResponse) -> check.WatchReply:
    return check.WatchReply(at, r.header.revision, tuple(to_event(e) for e in r.events),
                            r.canceled, r.compact_revision)


def store_history(store: KVStore) -> check.StoreHistory:
    """Every change a member still holds, in revision order, read from its snapshot."""
    state = decode_snapshot(store.snapshot())
    events = tuple(
        check.StoreEvent(r.rev.main, r.kv.key, check.DELETE if r.tombstone else check.PUT,
                         b"" if r.tombstone else r.kv.value, 0 if r.tombstone else r.kv.lease)
        for r in state.records)
    return check.StoreHistory(events, state.compact_rev + 1, state.current_rev)
