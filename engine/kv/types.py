"""The keyspace's vocabulary: key-values, requests, responses and watch events.

Everything mirrors etcd 3.4's protobuf messages (etcdserverpb, mvccpb) with the field names in
snake_case, as frozen slotted dataclasses; enums carry etcd's wire numbers so a gRPC front
end can convert both ways by value. A oneof of etcd's (RequestOp, ResponseOp) is a plain
union of the request or response types. Keys and values are always bytes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Union


class SortOrder(enum.IntEnum):
    NONE = 0
    ASCEND = 1
    DESCEND = 2


class SortTarget(enum.IntEnum):
    KEY = 0
    VERSION = 1
    CREATE = 2
    MOD = 3
    VALUE = 4


class CompareResult(enum.IntEnum):
    EQUAL = 0
    GREATER = 1
    LESS = 2
    NOT_EQUAL = 3


class CompareTarget(enum.IntEnum):
    VERSION = 0
    CREATE = 1
    MOD = 2
    VALUE = 3
    LEASE = 4


class EventType(enum.IntEnum):
    PUT = 0
    DELETE = 1


class FilterType(enum.IntEnum):
    """Watch filters: events of these kinds are not sent to the watcher."""
    NOPUT = 0
    NODELETE = 1


class AlarmAction(enum.IntEnum):
    GET = 0
    ACTIVATE = 1
    DEACTIVATE = 2


class AlarmType(enum.IntEnum):
    NONE = 0
    NOSPACE = 1
    CORRUPT = 2


def _require_bytes(obj: object, *names: str) -> None:
    # str keys are the most common slip when calling from Python; fail at construction.
    for name in names:
        if not isinstance(getattr(obj, name), bytes):
            raise TypeError(f"{type(obj).__name__}.{name} must be bytes")


def _freeze_tuples(obj: object, *names: str) -> None:
    for name in names:
        object.__setattr__(obj, name, tuple(getattr(obj, name)))


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: bytes
    create_revision: int = 0
    mod_revision: int = 0
    version: int = 0
    value: bytes = b""
    lease: int = 0


@dataclass(frozen=True, slots=True)
class ResponseHeader:
    """The store revision when the response was made; the host adds cluster, member, term."""
    revision: int


# --- requests -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RangeRequest:
    key: bytes
    range_end: bytes = b""
    limit: int = 0
    revision: int = 0
    sort_order: SortOrder = SortOrder.NONE
    sort_target: SortTarget = SortTarget.KEY
    serializable: bool = False
    keys_only: bool = False
    count_only: bool = False
    min_mod_revision: int = 0
    max_mod_revision: int = 0
    min_create_revision: int = 0
    max_create_revision: int = 0

    def __post_init__(self) -> None:
        _require_bytes(self, "key", "range_end")


@dataclass(frozen=True, slots=True)
class PutRequest:
    key: bytes
    value: bytes = b""
    lease: int = 0
    prev_kv: bool = False
    ignore_value: bool = False
    ignore_lease: bool = False

    def __post_init__(self) -> None:
        _require_bytes(self, "key", "value")


@dataclass(frozen=True, slots=True)
class DeleteRangeRequest:
    key: bytes
    range_end: bytes = b""
    prev_kv: bool = False

    def __post_init__(self) -> None:
        _require_bytes(self, "key", "range_end")


@dataclass(frozen=True, slots=True)
class Compare:
    """One guard of a txn. Only the field named by `target` is compared, as in etcd's
    target_union; `range_end` makes it hold only if it holds for every key in range."""
    key: bytes
    target: CompareTarget
    result: CompareResult
    version: int = 0
    create_revision: int = 0
    mod_revision: int = 0
    value: bytes = b""
    lease: int = 0
    range_end: bytes = b""

    def __post_init__(self) -> None:
        _require_bytes(self, "key", "value", "range_end")


@dataclass(frozen=True, slots=True)
class TxnRequest:
    compare: tuple[Compare, ...] = ()
    success: tuple[RequestOp, ...] = ()
    failure: tuple[RequestOp, ...] = ()

    def __post_init__(self) -> None:
        _freeze_tuples(self, "compare", "success", "failure")


RequestOp = Union[RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest]


@dataclass(frozen=True, slots=True)
class CompactionRequest:
    revision: int
    physical: bool = False  # compaction here is always done at once; kept for the wire


@dataclass(frozen=True, slots=True)
class LeaseGrantRequest:
    """`id` must be chosen before proposing (see `pick_lease_id`), so every member agrees."""
    ttl: int
    id: int


@dataclass(frozen=True, slots=True)
class LeaseRevokeRequest:
    id: int


@dataclass(frozen=True, slots=True)
class AlarmRequest:
    action: AlarmAction
    member_id: int = 0
    alarm: AlarmType = AlarmType.NONE


# Requests that go through the Raft log and `KVStore.apply`.
Request = Union[RangeRequest, PutRequest, DeleteRangeRequest, TxnRequest, CompactionRequest,
                LeaseGrantRequest, LeaseRevokeRequest, AlarmRequest]


# --- responses ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RangeResponse:
    header: ResponseHeader
    kvs: tuple[KeyValue, ...] = ()
    more: bool = False
    count: int = 0


@dataclass(frozen=True, slots=True)
class PutResponse:
    header: ResponseHeader
    prev_kv: KeyValue | None = None


@dataclass(frozen=True, slots=True)
class DeleteRangeResponse:
    header: ResponseHeader
    deleted: int = 0
    prev_kvs: tuple[KeyValue, ...] = ()


@dataclass(frozen=True, slots=True)
class TxnResponse:
    header: ResponseHeader
    succeeded: bool
    responses: tuple[ResponseOp, ...] = ()


ResponseOp = Union[RangeResponse, PutResponse, DeleteRangeResponse, TxnResponse]


@dataclass(frozen=True, slots=True)
class CompactionResponse:
    header: ResponseHeader


@dataclass(frozen=True, slots=True)
class LeaseGrantResponse:
    header: ResponseHeader
    id: int
    ttl: int


@dataclass(frozen=True, slots=True)
class LeaseRevokeResponse:
    header: ResponseHeader


@dataclass(frozen=True, slots=True)
class LeaseKeepAliveResponse:
    header: ResponseHeader
    id: int
    ttl: int


@dataclass(frozen=True, slots=True)
class LeaseTimeToLiveResponse:
    """`ttl` is the remaining time in whole seconds, -1 if the lease does not exist."""
    header: ResponseHeader
    id: int
    ttl: int
    granted_ttl: int = 0
    keys: tuple[bytes, ...] = ()


@dataclass(frozen=True, slots=True)
class LeaseLeasesResponse:
    header: ResponseHeader
    leases: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class AlarmMember:
    member_id: int
    alarm: AlarmType


@dataclass(frozen=True, slots=True)
class AlarmResponse:
    header: ResponseHeader
    alarms: tuple[AlarmMember, ...] = ()


@dataclass(frozen=True, slots=True)
class HashKVResponse:
    header: ResponseHeader
    hash: int
    compact_revision: int


Response = Union[RangeResponse, PutResponse, DeleteRangeResponse, TxnResponse,
                 CompactionResponse, LeaseGrantResponse, LeaseRevokeResponse, AlarmResponse]


# --- watch ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """A DELETE event's kv holds only the key and the deleting revision, as in etcd."""
    type: EventType
    kv: KeyValue
    prev_kv: KeyValue | None = None


@dataclass(frozen=True, slots=True)
class WatchResponse:
    """Events of whole revisions, in revision order. No events means a progress
    notification; `canceled` with `compact_revision` means the history the watcher
    needed was compacted away and the watcher is gone."""
    header: ResponseHeader
    watch_id: int
    events: tuple[Event, ...] = ()
    compact_revision: int = 0
    canceled: bool = False
