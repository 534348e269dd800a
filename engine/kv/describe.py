"""The one short text form of keyspace requests, for log views and traces.

`put greeting=hello`, `del user/*`, `txn if×1 then×2 else×0`, `lease grant 2f 30s`: what
the simulator's and the live cluster's log views print for an entry carrying a request.
"""

from __future__ import annotations

from .keys import prefix_range_end
from .types import (
    AlarmAction, AlarmRequest, CompactionRequest, DeleteRangeRequest, LeaseGrantRequest,
    LeaseRevokeRequest, PutRequest, RangeRequest, Request, TxnRequest,
)


def show(data: bytes) -> str:
    return data.decode("utf-8", errors="backslashreplace")


def describe_span(key: bytes, range_end: bytes) -> str:
    if not range_end:
        return show(key)
    if range_end == b"\0":
        return f"{show(key)}.."
    if range_end == prefix_range_end(key):
        return f"{show(key)}*"
    return f"[{show(key)}, {show(range_end)})"


def describe_request(req: Request) -> str:
    if isinstance(req, PutRequest):
        lease = f" lease {req.lease:x}" if req.lease else ""
        return f"put {show(req.key)}={show(req.value)}{lease}"
    if isinstance(req, DeleteRangeRequest):
        return f"del {describe_span(req.key, req.range_end)}"
    if isinstance(req, TxnRequest):
        return f"txn if×{len(req.compare)} then×{len(req.success)} else×{len(req.failure)}"
    if isinstance(req, RangeRequest):
        return f"get {describe_span(req.key, req.range_end)}"
    if isinstance(req, CompactionRequest):
        return f"compact {req.revision}"
    if isinstance(req, LeaseGrantRequest):
        return f"lease grant {req.id:x} {req.ttl}s"
    if isinstance(req, LeaseRevokeRequest):
        return f"lease revoke {req.id:x}"
    if isinstance(req, AlarmRequest):
        return _describe_alarm(req)
    return type(req).__name__


def _describe_alarm(req: AlarmRequest) -> str:
    if req.action is AlarmAction.GET:
        return "alarm list"
    verb = "raise" if req.action is AlarmAction.ACTIVATE else "disarm"
    return f"alarm {verb} {req.alarm.name} member {req.member_id}"
