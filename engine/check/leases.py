"""Leases: a lease expires neither early nor (much) late, and a revoked lease's keys all go
in the one revision that revokes it.

Bounds, in terms of `LeaseBounds` (times in seconds of real time; a member measures TTLs
on its own clock, which runs between `min_factor` and `max_factor` of real time):

- early: a leader may propose to expire a lease no sooner than TTL * min_factor after
  the invocation of the last grant or keep-alive that was acknowledged before it (the
  member renewed at or after that moment, and a new leader restarts every lease's clock);
- late: once one leader is in charge for good (from `quiet_from`), a lease is revoked
  no later than `max_late` after its last possible deadline, which is the later of
  (last acknowledged renewal + TTL) and (quiet_from + extend + TTL), scaled by
  max_factor; `extend` is what a new leader adds (etcd: the election timeout), and
  `max_late` covers the leader's expiry loop, the proposal and its commit;
- one revision: every key attached to the lease just before it is revoked has its delete
  at exactly the revoking revision, and no key is attached to it afterwards.

Times come from the history's stamps, `per_second` of them in one second.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

from .findings import Finding, Verdicts
from .history import (
    DELETE, PUT, LeaseAlive, LeaseExpire, LeaseGrant, LeaseGranted, LeaseKeepAlive,
    LeaseRevoke, Operation, StoreHistory, Written, describe_op, show,
)


@dataclass(frozen=True, slots=True)
class LeaseBounds:
    per_second: int
    min_factor: float
    max_factor: float
    extend: float
    max_late: float
    quiet_from: int | None      # from here on one leader stays in charge (None: never)
    end: int                    # the history's last stamp


@dataclass(slots=True)
class _Lease:
    id: int
    ttl: int = 0                 # as asked (the granted TTL is never less)
    granted: int | None = None   # the TTL the grant was answered with
    renewals: list[Operation] = field(default_factory=list)   # acknowledged grants, keep-alives
    revokes: list[Operation] = field(default_factory=list)    # revokes and expiries that worked
    expiries: list[Operation] = field(default_factory=list)   # expiries that worked


def check_leases(ops: Sequence[Operation], store: StoreHistory, bounds: LeaseBounds,
                 stamp: Callable[[int], str] = str) -> Verdicts:
    leases = _collect(ops)
    out = Verdicts(histories=len(leases))
    for lease in leases.values():
        out.findings += _expired_early(lease, bounds, stamp)
        out.findings += _outlived(lease, bounds, stamp)
        out.findings += _revoked_whole(lease, store, stamp)
    return out


def _collect(ops: Sequence[Operation]) -> dict[int, _Lease]:
    leases: dict[int, _Lease] = {}
    for op in ops:
        req, resp = op.request, op.response
        if not isinstance(req, (LeaseGrant, LeaseKeepAlive, LeaseRevoke, LeaseExpire)):
            continue
        lease = leases.setdefault(req.lease, _Lease(req.lease))
        if isinstance(req, LeaseGrant) and not op.failed:
            lease.ttl = req.ttl
            if isinstance(resp, LeaseGranted):
                lease.granted = resp.ttl
                lease.renewals.append(op)
        elif isinstance(resp, LeaseAlive) and resp.ttl > 0:
            lease.renewals.append(op)
        elif isinstance(resp, Written):
            lease.revokes.append(op)
            if isinstance(req, LeaseExpire):
                lease.expiries.append(op)
    return {k: v for k, v in leases.items() if v.ttl}


def _expired_early(lease: _Lease, b: LeaseBounds, stamp) -> list[Finding]:
    for expiry in lease.expiries:
        before = [op for op in lease.renewals if op.invoke < expiry.invoke]
        if not before:
            continue
        last = max(before, key=lambda op: op.invoke)
        allowed = lease.ttl * b.min_factor * b.per_second
        if expiry.invoke - last.invoke < allowed:
            gap = (expiry.invoke - last.invoke) / b.per_second
            return [Finding(
                "lease-early", f"lease {lease.id:x} (TTL {lease.ttl}s) was expired {gap:.2f}s "
                f"after the last renewal was asked for; the TTL allows no less than "
                f"{lease.ttl * b.min_factor:.2f}s", (describe_op(last, stamp),
                                                      describe_op(expiry, stamp)))]
    return []


def _outlived(lease: _Lease, b: LeaseBounds, stamp) -> list[Finding]:
    if b.quiet_from is None or lease.granted is None:
        return []
    ttl = lease.granted
    last = max(op.complete for op in lease.renewals)
    deadline = max(last + ttl * b.max_factor * b.per_second,
                   b.quiet_from + (b.extend + ttl) * b.max_factor * b.per_second)
    due = deadline + b.max_late * b.per_second
    if due >= b.end or any(op.invoke <= due for op in lease.revokes):
        return []
    shown = [describe_op(op, stamp) for op in lease.renewals[-2:] + lease.revokes[:1]]
    return [Finding(
        "lease-late", f"lease {lease.id:x} (TTL {ttl}s) was still not revoked "
        f"{b.max_late:.1f}s after its last possible deadline, {stamp(int(deadline))}",
        tuple(shown))]


def _revoked_whole(lease: _Lease, store: StoreHistory, stamp) -> list[Finding]:
    revisions = sorted({op.response.revision for op in lease.revokes
                        if op.response.revision is not None})
    if not revisions:
        return []
    rev = revisions[0]
    if rev < store.complete_from:
        return []
    attached = _attached_before(store, lease.id, rev)
    deleted = {e.key for e in store.events if e.revision == rev and e.kind == DELETE}
    later = [e for e in store.events if e.revision > rev and e.kind == PUT and
             e.lease == lease.id]
    if attached - deleted:
        keys = ", ".join(show(k) for k in sorted(attached - deleted))
        return [Finding("lease-revoke", f"lease {lease.id:x} was revoked at revision {rev} "
                        f"but its key(s) {keys} were not deleted there",
                        tuple(describe_op(op, stamp) for op in lease.revokes[:2]))]
    if later:
        return [Finding("lease-revoke", f"key {show(later[0].key)} attached to lease "
                        f"{lease.id:x} at revision {later[0].revision}, after the lease was "
                        f"revoked at {rev}", ())]
    return []


def _attached_before(store: StoreHistory, lease_id: int, rev: int) -> set[bytes]:
    holder: dict[bytes, int] = defaultdict(int)
    for e in store.events:
        if e.revision >= rev:
            break
        holder[e.key] = e.lease if e.kind == PUT else 0
    return {k for k, lease in holder.items() if lease == lease_id}
