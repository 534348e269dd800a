"""engine.kv: etcd 3.4's keyspace as a sans-IO state machine (MVCC, txns, leases, watches).

One `KVStore` per member. The host feeds it the Raft log and serves reads from it:

    store = KVStore(KVConfig())
    store.validate(request)                  # before proposing (etcd's gRPC checks)
    store.quota_available(request)           # before proposing a write (etcd's quota check)
    data = encode_request(request)           # -> Raft entry data
    response = store.apply(decode_request(data), index=entry.index, now=now_seconds)
    store.range(RangeRequest(b"k"))          # local read (after ReadIndex if linearizable)

Replicated requests (through `apply`): RangeRequest, PutRequest, DeleteRangeRequest,
TxnRequest (with Compare and nested RequestOps), CompactionRequest, LeaseGrantRequest,
LeaseRevokeRequest, AlarmRequest. Each returns the matching *Response, whose header holds
the store revision; a refusal raises `KVError` with etcd's message and gRPC `code`.
`apply` is deterministic and idempotent per Raft index (`consistent_index`).

Local, per member: `hash_kv(rev)`, `snapshot()` / `KVStore.restore(bytes)` /
`install_snapshot(bytes)`, the leader's lease side (`promote(now, extend)`, `demote()`,
`expired_leases(now)` -> ids to revoke through the log, `lease_keepalive`,
`lease_time_to_live`, `lease_leases`), and watches (`watch(...) -> id`, `cancel_watch`,
`take_responses(id)`, `drain_responses()`, `sync_watchers()`, `request_progress()`).

Time is always an argument (`now`, seconds); randomness is injected (`pick_lease_id(rng)`).
"""

from .checks import DEFAULT_MAX_TXN_OPS, validate_request
from .codec import decode_request, encode_request
from .errors import ErrorKind, KVError, RequestDecodeError, SnapshotError
from .keys import ALL_KEYS_END, KeySpan, prefix_range_end
from .lease import MAX_LEASE_TTL, min_lease_ttl, pick_lease_id
from .quota import DEFAULT_QUOTA_BYTES, LEASE_OVERHEAD, RECORD_OVERHEAD, request_cost
from .store import KVConfig, KVStore
from .txn import is_read_only
from .types import (AlarmAction, AlarmMember, AlarmRequest, AlarmResponse, AlarmType,
                    Compare, CompareResult, CompareTarget, CompactionRequest,
                    CompactionResponse, DeleteRangeRequest, DeleteRangeResponse, Event,
                    EventType, FilterType, HashKVResponse, KeyValue, LeaseGrantRequest,
                    LeaseGrantResponse, LeaseKeepAliveResponse, LeaseLeasesResponse,
                    LeaseRevokeRequest, LeaseRevokeResponse, LeaseTimeToLiveResponse,
                    PutRequest, PutResponse, RangeRequest, RangeResponse, Request, RequestOp,
                    Response, ResponseHeader, ResponseOp, SortOrder, SortTarget, TxnRequest,
                    TxnResponse, WatchResponse)

__all__ = [
    "ALL_KEYS_END", "DEFAULT_MAX_TXN_OPS", "DEFAULT_QUOTA_BYTES", "LEASE_OVERHEAD",
    "MAX_LEASE_TTL", "RECORD_OVERHEAD",
    "AlarmAction", "AlarmMember", "AlarmRequest", "AlarmResponse", "AlarmType", "Compare",
    "CompareResult", "CompareTarget", "CompactionRequest", "CompactionResponse",
    "DeleteRangeRequest", "DeleteRangeResponse", "ErrorKind", "Event", "EventType",
    "FilterType", "HashKVResponse", "KVConfig", "KVError", "KVStore", "KeySpan", "KeyValue",
    "LeaseGrantRequest", "LeaseGrantResponse", "LeaseKeepAliveResponse",
    "LeaseLeasesResponse", "LeaseRevokeRequest", "LeaseRevokeResponse",
    "LeaseTimeToLiveResponse", "PutRequest", "PutResponse", "RangeRequest", "RangeResponse",
    "Request", "RequestDecodeError", "RequestOp", "Response", "ResponseHeader", "ResponseOp",
    "SnapshotError", "SortOrder", "SortTarget", "TxnRequest", "TxnResponse", "WatchResponse",
    "decode_request", "encode_request", "is_read_only", "min_lease_ttl", "pick_lease_id",
    "prefix_range_end", "request_cost", "validate_request",
]
