"""The keyspace as a simulated node's application, and how its log entries read.

Every Raft entry a client caused carries `[u8 kind][u64 request id][encoded request]`, the
same layout as the live cluster's envelope, so the member that proposed it can find the
request when it applies the entry and answer its client with its own result. `KeyspaceApp`
is what `SimNode` runs on top of Raft: it applies entries to a `KVStore` and reports each
result to the world, which follows requests and watches.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from typing import Protocol

from engine.kv import (
    KVConfig, KVError, KVStore, Request, Response, decode_request, encode_request,
)
from engine.kv.describe import describe_request, show
from engine.raft import ConfChange, ConfChangeType, Entry, EntryType

_HEAD = struct.Struct(">BQ")
KIND_KV = 1


def wrap(request_id: int, request: Request) -> bytes:
    return _HEAD.pack(KIND_KV, request_id) + encode_request(request)


def unwrap(data: bytes) -> tuple[int, Request] | None:
    """The request id and request an entry carries, or None if it carries none."""
    if len(data) < _HEAD.size:
        return None
    kind, request_id = _HEAD.unpack_from(data)
    if kind != KIND_KV:
        return None
    try:
        return request_id, decode_request(data[_HEAD.size:])
    except ValueError:
        return None


def request_name(request_id: int) -> str:
    return f"r{request_id}"


_CONF_WORDS = {
    ConfChangeType.ADD_NODE: "add voter", ConfChangeType.ADD_LEARNER: "add learner",
    ConfChangeType.REMOVE_NODE: "remove",
}


@lru_cache(maxsize=8192)
def describe_entry(entry: Entry) -> tuple[str, str, str | None]:
    """(kind, text, request id) of one log entry, for the log view (entries are
    immutable, so each is decoded once)."""
    if entry.type is EntryType.CONF_CHANGE:
        cc = ConfChange.decode(entry.data)
        return "conf", f"{_CONF_WORDS[cc.type]} {cc.node_id}", None
    if not entry.data:
        return "empty", "(new term)", None
    carried = unwrap(entry.data)
    if carried is None:
        return "normal", show(entry.data[:24]), None
    request_id, req = carried
    return "normal", describe_request(req), request_name(request_id)


class Hooks(Protocol):
    """What the world offers the keyspace of one node."""
    def now(self, node: int) -> float: ...
    def applied(self, node: int, entry: Entry, request_id: int, request: Request,
                response: Response | None, error: KVError | None, rev_before: int) -> None: ...


class KeyspaceApp:
    """The application a `SimNode` applies its log to."""

    def __init__(self, hooks: Hooks, node: int, config: KVConfig = KVConfig()) -> None:
        self.hooks, self.node = hooks, node
        self.store = KVStore(config)

    def apply(self, entry: Entry) -> None:
        carried = unwrap(entry.data)
        if carried is None:
            self.store.advance_consistent_index(entry.index)
            return
        request_id, request = carried
        before = self.store.current_revision
        response, error = None, None
        try:
            response = self.store.apply(request, index=entry.index,
                                        now=self.hooks.now(self.node))
        except KVError as exc:
            error = exc
        self.hooks.applied(self.node, entry, request_id, request, response, error, before)

    def snapshot(self) -> bytes:
        return self.store.snapshot()

    def restore(self, data: bytes) -> None:
        self.store.install_snapshot(data)


class KeyspaceFactory:
    """`SimNode.app_factory` for one node: a fresh keyspace at every (re)start."""

    def __init__(self, hooks: Hooks, node: int, config: KVConfig = KVConfig()) -> None:
        self.hooks, self.node, self.config = hooks, node, config

    def __call__(self) -> KeyspaceApp:
        return KeyspaceApp(self.hooks, self.node, self.config)
