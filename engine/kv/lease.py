"""Leases: which exist, their TTLs, the keys attached to them, and when they run out.

What leases exist and which keys they hold is replicated state: it changes only through
applied requests, identically on every member. When a lease runs out is not: as in etcd,
only the leader (the "primary" lessor) keeps deadlines, from the `now` its host passes in
(seconds, any monotonic origin); it finds expired leases with `expired_leases` and revokes
them by proposing LeaseRevokeRequests through the log. A new leader `promote`s its lessor,
which restarts every lease's clock, so a leader change never expires a lease early.
Followers keep no deadlines at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sortedcontainers import SortedDict, SortedSet

from .errors import ErrorKind, KVError

MAX_LEASE_TTL = 9_000_000_000  # seconds, etcd's MaxLeaseTTL
EXPIRED_LEASE_RETRY = 3.0      # seconds before an expired lease is reported again


def min_lease_ttl(election_ticks: int, tick_ms: int) -> int:
    """etcd's minimum lease TTL in seconds: 1.5 election timeouts, rounded up, so a lease
    cannot expire during the election that follows the loss of a leader. etcd's defaults
    (an election timeout of 10 ticks of 100 ms) give 2."""
    millis = (3 * election_ticks) // 2 * tick_ms
    return -(-millis // 1000)


def pick_lease_id(rng) -> int:
    """A fresh lease ID for a grant proposal, drawn from the injected `rng` (anything with
    `getrandbits`, e.g. a seeded random.Random): positive, fits etcd's int64, never 0."""
    while True:
        lease_id = rng.getrandbits(63)
        if lease_id:
            return lease_id


@dataclass(slots=True)
class Lease:
    id: int
    ttl: int  # granted TTL in seconds, after raising it to the minimum
    keys: SortedSet = field(default_factory=SortedSet)
    deadline: float | None = None   # leader only: expires when now >= deadline
    report_after: float | None = None  # leader only: already reported as expired until then


class Lessor:
    def __init__(self, min_ttl: int = 1, retry_interval: float = EXPIRED_LEASE_RETRY) -> None:
        self.min_ttl = max(1, min_ttl)  # a lease lives at least a second, whatever asked
        self.retry_interval = retry_interval
        self.leases: SortedDict = SortedDict()  # lease id -> Lease
        self.primary = False

    def lookup(self, lease_id: int) -> Lease | None:
        return self.leases.get(lease_id)

    def grant(self, lease_id: int, ttl: int, now: float) -> Lease:
        if lease_id == 0:
            raise KVError(ErrorKind.LEASE_NOT_FOUND)
        if ttl > MAX_LEASE_TTL:
            raise KVError(ErrorKind.LEASE_TTL_TOO_LARGE)
        if lease_id in self.leases:
            raise KVError(ErrorKind.LEASE_EXIST)
        lease = Lease(lease_id, max(ttl, self.min_ttl))
        if self.primary:
            lease.deadline = now + lease.ttl
        self.leases[lease_id] = lease
        return lease

    def restore(self, lease_id: int, ttl: int) -> None:
        """Re-create a lease from a snapshot, exactly as it was granted."""
        if lease_id == 0 or not 1 <= ttl <= MAX_LEASE_TTL or lease_id in self.leases:
            raise ValueError(f"invalid lease {lease_id} with TTL {ttl}")
        self.leases[lease_id] = Lease(lease_id, ttl)

    def remove(self, lease_id: int) -> Lease:
        lease = self.leases.pop(lease_id, None)
        if lease is None:
            raise KVError(ErrorKind.LEASE_NOT_FOUND)
        return lease

    def attach(self, lease_id: int, key: bytes) -> None:
        self.leases[lease_id].keys.add(key)

    def detach(self, lease_id: int, key: bytes) -> None:
        lease = self.leases.get(lease_id)
        if lease is not None:
            lease.keys.discard(key)

    def renew(self, lease_id: int, now: float) -> Lease:
        """Keep-alive, on the leader: the lease's clock restarts from `now`. An expired
        lease is not renewed; etcd would hold the call until the revoke is applied and then
        answer "not found", which is what the caller gets at once here."""
        self._require_primary()
        lease = self.leases.get(lease_id)
        if lease is None or self._is_expired(lease, now):
            raise KVError(ErrorKind.LEASE_NOT_FOUND)
        lease.deadline = now + lease.ttl
        lease.report_after = None
        return lease

    def remaining(self, lease: Lease, now: float) -> int:
        """Whole seconds left, truncated as etcd's TimeToLive does, never below 0."""
        self._require_primary()
        assert lease.deadline is not None
        return max(0, int(lease.deadline - now))

    def promote(self, now: float, extend: float) -> None:
        """This member became leader: every lease gets its full TTL again, plus `extend`
        (etcd passes the election timeout) to cover the time the election took."""
        self.primary = True
        for lease in self.leases.values():
            lease.deadline = now + extend + lease.ttl
            lease.report_after = None

    def demote(self) -> None:
        """This member is no longer leader: leases never expire here until promoted."""
        self.primary = False
        for lease in self.leases.values():
            lease.deadline = None
            lease.report_after = None

    def expired_leases(self, now: float, limit: int | None = None) -> list[int]:
        """IDs of leases past their deadline, earliest deadline first, for the leader to
        revoke through the log. A lease reported once is reported again only after
        `retry_interval`, in case its revoke was lost; followers report nothing."""
        if not self.primary:
            return []
        due = [lease for lease in self.leases.values() if self._is_expired(lease, now)
               and (lease.report_after is None or lease.report_after <= now)]
        due.sort(key=lambda lease: (lease.deadline, lease.id))
        due = due[:limit] if limit is not None else due
        for lease in due:
            lease.report_after = now + self.retry_interval
        return [lease.id for lease in due]

    def _is_expired(self, lease: Lease, now: float) -> bool:
        return lease.deadline is not None and lease.deadline <= now

    def _require_primary(self) -> None:
        if not self.primary:
            raise KVError(ErrorKind.NOT_LEADER)
