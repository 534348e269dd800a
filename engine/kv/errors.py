"""Errors of the keyspace, worded exactly as etcd 3.4 words them to its clients.

A refused request raises `KVError`: its str is etcd's message and its `code` names the gRPC
status code etcd answers with, so a gRPC front end can pass both through untouched. Bytes
that cannot be decoded (a snapshot, an encoded request) raise `ValueError` subclasses
instead: those are not a client's mistake but the disk's or the peer's.
"""

from __future__ import annotations

import enum


class ErrorKind(enum.Enum):
    """Every refusal the keyspace can give, as (etcd's message, gRPC status code)."""

    COMPACTED = ("etcdserver: mvcc: required revision has been compacted", "OUT_OF_RANGE")
    FUTURE_REV = ("etcdserver: mvcc: required revision is a future revision", "OUT_OF_RANGE")
    EMPTY_KEY = ("etcdserver: key is not provided", "INVALID_ARGUMENT")
    KEY_NOT_FOUND = ("etcdserver: key not found", "INVALID_ARGUMENT")
    VALUE_PROVIDED = ("etcdserver: value is provided", "INVALID_ARGUMENT")
    LEASE_PROVIDED = ("etcdserver: lease is provided", "INVALID_ARGUMENT")
    TOO_MANY_OPS = ("etcdserver: too many operations in txn request", "INVALID_ARGUMENT")
    DUPLICATE_KEY = ("etcdserver: duplicate key given in txn request", "INVALID_ARGUMENT")
    LEASE_NOT_FOUND = ("etcdserver: requested lease not found", "NOT_FOUND")
    LEASE_EXIST = ("etcdserver: lease already exists", "FAILED_PRECONDITION")
    LEASE_TTL_TOO_LARGE = ("etcdserver: too large lease TTL", "OUT_OF_RANGE")
    NO_SPACE = ("etcdserver: mvcc: database space exceeded", "RESOURCE_EXHAUSTED")
    CORRUPT = ("etcdserver: corrupt cluster", "DATA_LOSS")
    # Lease keep-alive and time-to-live are answered by the leader's lessor only; a
    # follower's host is expected to forward them, as etcd does.
    NOT_LEADER = ("etcdserver: not leader", "UNAVAILABLE")
    DUPLICATE_WATCH_ID = ("mvcc: duplicate watch ID provided on the WatchStream",
                          "INVALID_ARGUMENT")

    @property
    def message(self) -> str:
        return self.value[0]

    @property
    def code(self) -> str:
        return self.value[1]


class KVError(Exception):
    """A request the keyspace refused; nothing was changed by it."""

    def __init__(self, kind: ErrorKind) -> None:
        super().__init__(kind.message)
        self.kind = kind

    @property
    def code(self) -> str:
        """The gRPC status code name etcd uses for this error, e.g. "OUT_OF_RANGE"."""
        return self.kind.code


class SnapshotError(ValueError):
    """Snapshot bytes that are truncated, corrupted or of an unknown format version."""


class RequestDecodeError(ValueError):
    """Bytes that are not a well-formed encoded request."""
