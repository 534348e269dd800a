"""`KVStore`: the keyspace one member applies its Raft log to, and everything it answers.

It ties together the revisioned store (mvcc), the lessor, the alarms and quota, and the
watchers. Requests from the log go through `apply(request, index=..., now=...)`, which is
deterministic: the same requests in the same order leave every member in the same state
(same `hash_kv`, same `snapshot()` bytes). `now` only sets the leader's lease deadlines,
which are local and never part of that state. Reads, lease keep-alives, watches and hashes
are local calls that change no replicated state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from sortedcontainers import SortedDict

from .applier import apply_range, run_delete_range, run_put, run_txn
from .checks import DEFAULT_MAX_TXN_OPS, validate_request
from .errors import ErrorKind, KVError, SnapshotError
from .keys import KeySpan
from .lease import EXPIRED_LEASE_RETRY, Lessor, min_lease_ttl
from .mvcc import MVCCStore, Record
from .quota import DEFAULT_QUOTA_BYTES, AlarmStore, request_cost
from .snapshot import SnapshotRecord, SnapshotState, decode_snapshot, encode_snapshot
from .txn import is_read_only
from .types import (AlarmAction, AlarmRequest, AlarmResponse, AlarmType, CompactionRequest,
                    CompactionResponse, DeleteRangeRequest, FilterType, HashKVResponse,
                    LeaseGrantRequest, LeaseGrantResponse, LeaseKeepAliveResponse,
                    LeaseLeasesResponse, LeaseRevokeRequest, LeaseRevokeResponse,
                    LeaseTimeToLiveResponse, PutRequest, RangeRequest, RangeResponse, Request,
                    Response, ResponseHeader, TxnRequest, TxnResponse, WatchResponse)
from .watch import DEFAULT_BATCH_MAX_REVS, DEFAULT_MAX_PENDING, WatchHub, WatcherPosition


@dataclass(frozen=True, slots=True)
class KVConfig:
    """Limits of one store. max_txn_ops, quota_backend_bytes and min_lease_ttl take part
    in applying requests, so they must be equal on every member; the rest is local."""
    max_txn_ops: int = DEFAULT_MAX_TXN_OPS
    quota_backend_bytes: int = DEFAULT_QUOTA_BYTES
    min_lease_ttl: int = min_lease_ttl(election_ticks=10, tick_ms=100)
    expired_lease_retry: float = EXPIRED_LEASE_RETRY
    watch_max_pending: int = DEFAULT_MAX_PENDING
    watch_batch_max_revs: int = DEFAULT_BATCH_MAX_REVS


class KVStore:
    """One member's keyspace: `apply` for the log, local reads, leases, watches, snapshots."""

    def __init__(self, config: KVConfig = KVConfig()) -> None:
        self.config = config
        self.consistent_index = 0  # Raft index of the last entry applied
        self._mvcc = MVCCStore()
        self._lessor = Lessor(config.min_lease_ttl, config.expired_lease_retry)
        self._alarms = AlarmStore()
        self._watches = WatchHub(self._mvcc, config.watch_max_pending,
                                 config.watch_batch_max_revs)
        self._handlers: dict[type, Callable] = {
            RangeRequest: self._apply_range, PutRequest: self._apply_put,
            DeleteRangeRequest: self._apply_delete_range, TxnRequest: self._apply_txn,
            CompactionRequest: self._apply_compaction, LeaseGrantRequest: self._apply_grant,
            LeaseRevokeRequest: self._apply_revoke, AlarmRequest: self._apply_alarm,
        }

    # --- state at a glance -------------------------------------------------------------

    @property
    def current_revision(self) -> int:
        return self._mvcc.current_rev

    @property
    def compact_revision(self) -> int:
        """The last compaction's revision; 0 if never compacted."""
        return self._mvcc.compact_rev

    @property
    def size_bytes(self) -> int:
        """The quota's estimate of the stored data (see engine.kv.quota)."""
        return self._mvcc.size_bytes

    @property
    def is_leader(self) -> bool:
        """Whether the lessor is primary (keeps lease deadlines)."""
        return self._lessor.primary

    # --- the replicated path -----------------------------------------------------------

    def apply(self, request: Request, *, index: int | None = None,
              now: float = 0.0) -> Response | None:
        """Apply one request from the log and return its response, or raise KVError if
        etcd would refuse it (the store is then unchanged). With `index`, an entry at or
        below `consistent_index` was applied before (replay after a crash) and is skipped:
        the result is None. A refused entry still counts as applied."""
        if index is not None:
            if index <= self.consistent_index:
                return None
            self.consistent_index = index
        handler = self._handlers.get(type(request))
        if handler is None:
            raise TypeError(f"not a request the keyspace applies: {type(request).__name__}")
        validate_request(request, self.config.max_txn_ops)
        self._check_alarms(request)
        return handler(request, now)

    def advance_consistent_index(self, index: int) -> None:
        """Record an applied log entry that is not a keyspace request (a conf change, the
        empty entry of a new term), so replay skips it too."""
        self.consistent_index = max(self.consistent_index, index)

    def validate(self, request: Request) -> None:
        """The checks `apply` starts with, for the host to run before proposing."""
        validate_request(request, self.config.max_txn_ops)

    def quota_available(self, request: Request) -> bool:
        """Whether `request` fits the quota (etcd checks this before proposing; if not, the
        host answers NO_SPACE and proposes AlarmRequest(ACTIVATE, member, NOSPACE))."""
        cost = request_cost(request)
        return cost == 0 or self._mvcc.size_bytes + cost < self.config.quota_backend_bytes

    def _check_alarms(self, request: Request) -> None:
        if isinstance(request, AlarmRequest):
            return
        if self._alarms.active(AlarmType.CORRUPT):
            raise KVError(ErrorKind.CORRUPT)
        cost = request_cost(request)
        # Under NOSPACE only requests that cannot grow the store pass. A write that would
        # reach the quota is refused outright (etcd applies it and answers NO_SPACE).
        if cost and (self._alarms.active(AlarmType.NOSPACE) or
                     self._mvcc.size_bytes + cost >= self.config.quota_backend_bytes):
            raise KVError(ErrorKind.NO_SPACE)

    def _apply_range(self, req: RangeRequest, now: float) -> RangeResponse:
        return apply_range(self._mvcc.view(), req)

    def _apply_put(self, req: PutRequest, now: float):
        return self._published(*run_put(self._mvcc, self._lessor, req))

    def _apply_delete_range(self, req: DeleteRangeRequest, now: float):
        return self._published(*run_delete_range(self._mvcc, self._lessor, req))

    def _apply_txn(self, req: TxnRequest, now: float) -> TxnResponse:
        return self._published(*run_txn(self._mvcc, self._lessor, req))

    def _published(self, response, changes: list[Record]):
        if changes:
            self._watches.notify(self._mvcc.current_rev, changes)
        return response

    def _apply_compaction(self, req: CompactionRequest, now: float) -> CompactionResponse:
        self._mvcc.compact(req.revision)
        return CompactionResponse(self._header())

    def _apply_grant(self, req: LeaseGrantRequest, now: float) -> LeaseGrantResponse:
        lease = self._lessor.grant(req.id, req.ttl, now)
        return LeaseGrantResponse(self._header(), lease.id, lease.ttl)

    def _apply_revoke(self, req: LeaseRevokeRequest, now: float) -> LeaseRevokeResponse:
        """Delete the lease's keys (in key order, all in one revision), then the lease."""
        lease = self._lessor.lookup(req.id)
        if lease is None:
            raise KVError(ErrorKind.LEASE_NOT_FOUND)
        txn = self._mvcc.write(self._lessor)
        for key in list(lease.keys):
            txn.delete_range(KeySpan(key))
        self._lessor.remove(req.id)
        return self._published(LeaseRevokeResponse(self._header(txn.rev)), txn.end())

    def _apply_alarm(self, req: AlarmRequest, now: float) -> AlarmResponse:
        if req.action is AlarmAction.GET:
            alarms = self._alarms.get(req.alarm)
        elif req.alarm is AlarmType.NONE:
            alarms = ()  # there is nothing to raise or clear
        elif req.action is AlarmAction.ACTIVATE:
            alarms = (self._alarms.activate(req.member_id, req.alarm),)
        else:
            cleared = self._alarms.deactivate(req.member_id, req.alarm)
            alarms = (cleared,) if cleared else ()
        return AlarmResponse(self._header(), alarms)

    def _header(self, revision: int | None = None) -> ResponseHeader:
        return ResponseHeader(self._mvcc.current_rev if revision is None else revision)

    # --- local reads -------------------------------------------------------------------

    def range(self, req: RangeRequest) -> RangeResponse:
        """A read served from this member's state (after ReadIndex if linearizable)."""
        validate_request(req, self.config.max_txn_ops)
        return apply_range(self._mvcc.view(), req)

    def read_only_txn(self, req: TxnRequest) -> TxnResponse:
        """A txn that cannot write, served locally like a range."""
        if not is_read_only(req):
            raise ValueError("txn can write; it must go through the log")
        validate_request(req, self.config.max_txn_ops)
        response, _ = run_txn(self._mvcc, self._lessor, req)
        return response

    def hash_kv(self, revision: int = 0) -> HashKVResponse:
        """etcd's HashKV: a hash of the history up to `revision` (0: now), equal on members
        with equal applied history. Errors as etcd: at or below the compaction revision,
        COMPACTED; above the current one, FUTURE_REV."""
        compact, current = self._mvcc.compact_rev, self._mvcc.current_rev
        if 0 < revision <= compact:
            raise KVError(ErrorKind.COMPACTED)
        if revision > current:
            raise KVError(ErrorKind.FUTURE_REV)
        crc = self._mvcc.hash_kv(revision or current)
        return HashKVResponse(ResponseHeader(current), crc, compact)

    def alarms(self, alarm: AlarmType = AlarmType.NONE) -> tuple:
        return self._alarms.get(alarm)

    # --- leases: the leader's local side -----------------------------------------------

    def promote(self, now: float, extend: float) -> None:
        """This member became leader: restart every lease's clock (see Lessor.promote)."""
        self._lessor.promote(now, extend)

    def demote(self) -> None:
        self._lessor.demote()

    def expired_leases(self, now: float, limit: int | None = None) -> list[int]:
        """On the leader: leases to revoke by proposing LeaseRevokeRequest(id)."""
        return self._lessor.expired_leases(now, limit)

    def lease_keepalive(self, lease_id: int, now: float) -> LeaseKeepAliveResponse:
        lease = self._lessor.renew(lease_id, now)
        return LeaseKeepAliveResponse(self._header(), lease.id, lease.ttl)

    def lease_time_to_live(self, lease_id: int, now: float,
                           keys: bool = False) -> LeaseTimeToLiveResponse:
        if not self._lessor.primary:
            raise KVError(ErrorKind.NOT_LEADER)
        lease = self._lessor.lookup(lease_id)
        if lease is None:
            return LeaseTimeToLiveResponse(self._header(), lease_id, -1)
        return LeaseTimeToLiveResponse(
            self._header(), lease.id, self._lessor.remaining(lease, now), lease.ttl,
            tuple(lease.keys) if keys else ())

    def lease_leases(self) -> LeaseLeasesResponse:
        return LeaseLeasesResponse(self._header(), tuple(self._lessor.leases))

    # --- watches -----------------------------------------------------------------------

    def watch(self, key: bytes, range_end: bytes = b"", start_revision: int = 0, *,
              prev_kv: bool = False, filters: Iterable[FilterType] = (),
              progress_notify: bool = False, watch_id: int | None = None) -> int:
        """Watch `key` (or [key, range_end), b"\\0" meaning every key from key on) from
        `start_revision` (0: from the next revision); returns the watch id."""
        return self._watches.watch(KeySpan.of(key, range_end), start_revision,
                                   prev_kv=prev_kv, filters=filters,
                                   progress_notify=progress_notify, watch_id=watch_id)

    def cancel_watch(self, watch_id: int) -> bool:
        return self._watches.cancel(watch_id)

    def watcher_positions(self, limit: int | None = None) -> list[WatcherPosition]:
        """Where the first `limit` watchers (all: None) stand in revisions, for views."""
        return self._watches.positions(limit)

    def take_responses(self, watch_id: int,
                       max_responses: int | None = None) -> list[WatchResponse]:
        """The watcher's ready responses, oldest first (a lagging watcher is topped up from
        history first). After a `canceled` response the id is gone: KeyError from then on."""
        return self._watches.take(watch_id, max_responses)

    def drain_responses(self) -> dict[int, list[WatchResponse]]:
        """`take_responses` for every watcher that has something ready, by watch id."""
        return self._watches.drain()

    def sync_watchers(self) -> int:
        """Top up lagging watchers from history; return how many still lag."""
        return self._watches.sync()

    def request_progress(self, watch_ids: Iterable[int] | None = None, *,
                         only_progress_notify: bool = False) -> list[int]:
        """Queue a progress response (no events, current revision) for every synced
        watcher, or those given, or those created with progress_notify; return their ids."""
        return self._watches.request_progress(watch_ids,
                                              only_progress_notify=only_progress_notify)

    # --- snapshots ---------------------------------------------------------------------

    def snapshot(self) -> bytes:
        return encode_snapshot(self.freeze())

    def freeze(self) -> SnapshotState:
        """The state as it stands now, to encode later (snapshot_parts) while this store
        moves on: records never change once written, so a copy of the table of them (at
        C speed, not record by record) is enough."""
        leases = tuple((lease.id, lease.ttl) for lease in self._lessor.leases.values())
        return SnapshotState(self.consistent_index, self._mvcc.current_rev,
                             self._mvcc.compact_rev, FrozenRecords(self._mvcc.records),
                             leases, self._alarms.get())

    @classmethod
    def restore(cls, data: bytes, config: KVConfig = KVConfig()) -> KVStore:
        """A new store holding a snapshot's state; raises SnapshotError on bad bytes."""
        store = cls(config)
        store.install_snapshot(data)
        return store

    def install_snapshot(self, data: bytes) -> None:
        """Replace this store's state with a snapshot's (a Raft snapshot from the leader).
        Watchers stay and catch up from the new history. Lease deadlines are dropped: a
        leader that installs a snapshot must `promote` again."""
        state = decode_snapshot(data)
        mvcc, lessor = _rebuild(state, self.config)
        alarms = AlarmStore()
        for member in state.alarms:
            alarms.activate(member.member_id, member.alarm)
        self.consistent_index = state.consistent_index
        self._mvcc, self._lessor, self._alarms = mvcc, lessor, alarms
        self._watches.rebind(mvcc)


class FrozenRecords:
    """The records of an MVCC table as they were when this was made, in revision order."""

    def __init__(self, table: SortedDict) -> None:
        # The plain dict's views copy at C speed (dict.copy of the sorted dict is ten
        # times slower). They list the records as they were added, which is revision
        # order (writes add revisions in order, compactions remove the oldest): checked
        # against the sorted keys, a list comparison of the same objects.
        self._revisions, self._records = list(dict.keys(table)), list(dict.values(table))
        self._in_order = self._revisions == list(table.keys())

    def __len__(self) -> int:
        return len(self._revisions)

    def __iter__(self) -> Iterator[SnapshotRecord]:
        pairs = zip(self._revisions, self._records)
        for rev, record in (pairs if self._in_order else sorted(pairs)):
            yield SnapshotRecord(rev, record.kv, record.tombstone)


def _rebuild(state: SnapshotState, config: KVConfig) -> tuple[MVCCStore, Lessor]:
    mvcc = MVCCStore()
    lessor = Lessor(config.min_lease_ttl, config.expired_lease_retry)
    try:
        for lease_id, ttl in state.leases:
            lessor.restore(lease_id, ttl)
    except ValueError as exc:
        raise SnapshotError(str(exc)) from None
    for record in state.records:
        _check_consistent(mvcc, record, state.compact_rev)
        mvcc.add_record(record.rev, Record(record.kv, record.tombstone))
    mvcc.current_rev, mvcc.compact_rev = state.current_rev, state.compact_rev
    for ki in mvcc.index.indexes(KeySpan(b"", b"")):
        kv = mvcc.kv_at(ki.key, state.current_rev)
        if kv is not None and kv.lease:
            if lessor.lookup(kv.lease) is None:
                raise SnapshotError(f"key {kv.key!r} is attached to a missing lease")
            lessor.attach(kv.lease, kv.key)
    return mvcc, lessor


def _check_consistent(mvcc: MVCCStore, record: SnapshotRecord, compact_rev: int) -> None:
    """Refuse a record that could not follow the ones before it for its key."""
    ki = mvcc.index.key_index(record.kv.key)
    gen = ki.live_generation()
    kv, main = record.kv, record.rev.main
    if record.tombstone:
        # Only compaction leaves a delete without its put: one at the compaction revision.
        ok = gen is not None or main == compact_rev
    elif gen is not None:
        ok = kv.create_revision == gen.created and kv.version == gen.ver + 1
    else:
        ok = 0 < kv.create_revision <= main and kv.version >= 1 and \
            (kv.version == 1) == (kv.create_revision == main)
    if not ok:
        raise SnapshotError(f"record at {tuple(record.rev)} contradicts the key's history")
