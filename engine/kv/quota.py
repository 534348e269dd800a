"""The storage quota and the alarms that guard it.

etcd refuses writes once its backend file would outgrow `--quota-backend-bytes` (2 GiB by
default) and raises a NOSPACE alarm; until the alarm is disarmed only reads, deletes,
compaction, lease revokes and alarm requests pass. Here there is no backend file, so the
size is an estimate computed from what is stored, the same on every member:

- each stored change (put or tombstone): len(key) + len(value) + RECORD_OVERHEAD, where the
  overhead stands for the revision key, the create/mod/version/lease numbers and the index;
- each lease: LEASE_OVERHEAD.

Unlike etcd's file, the estimate shrinks as soon as compaction drops history (etcd needs a
defragmentation for that). A request's cost is what it would add: a put's record, a txn's
costlier branch (nested txns included), a lease grant's lease. Like etcd, a put is costed
by its request, so an ignore_value put costs less than the old value it stores again.
"""

from __future__ import annotations

from sortedcontainers import SortedSet

from .types import (AlarmMember, AlarmType, KeyValue, LeaseGrantRequest, PutRequest,
                    RequestOp, TxnRequest)

DEFAULT_QUOTA_BYTES = 2 * 1024**3
RECORD_OVERHEAD = 64
LEASE_OVERHEAD = 64


def record_size(kv: KeyValue, tombstone: bool = False) -> int:
    return len(kv.key) + (0 if tombstone else len(kv.value)) + RECORD_OVERHEAD


def request_cost(request: object) -> int:
    """Bytes a request may add to the store; 0 for requests that never grow it."""
    if isinstance(request, PutRequest):
        return len(request.key) + len(request.value) + RECORD_OVERHEAD
    if isinstance(request, TxnRequest):
        return max(_ops_cost(request.success), _ops_cost(request.failure))
    if isinstance(request, LeaseGrantRequest):
        return LEASE_OVERHEAD
    return 0


def _ops_cost(ops: tuple[RequestOp, ...]) -> int:
    return sum(request_cost(op) for op in ops)


class AlarmStore:
    """Raised alarms, at most one of each type per member, listed in a fixed order."""

    __slots__ = ("_alarms",)

    def __init__(self) -> None:
        self._alarms: SortedSet = SortedSet()  # of (alarm type, member id)

    def activate(self, member_id: int, alarm: AlarmType) -> AlarmMember:
        self._alarms.add((alarm, member_id))
        return AlarmMember(member_id, alarm)

    def deactivate(self, member_id: int, alarm: AlarmType) -> AlarmMember | None:
        if (alarm, member_id) not in self._alarms:
            return None
        self._alarms.remove((alarm, member_id))
        return AlarmMember(member_id, alarm)

    def get(self, alarm: AlarmType = AlarmType.NONE) -> tuple[AlarmMember, ...]:
        """Raised alarms of one type, or all of them for AlarmType.NONE."""
        return tuple(AlarmMember(member, kind) for kind, member in self._alarms
                     if alarm is AlarmType.NONE or kind is alarm)

    def active(self, alarm: AlarmType) -> bool:
        return any(kind is alarm for kind, _ in self._alarms)
