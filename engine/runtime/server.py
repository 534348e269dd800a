"""One live member: Raft, its disk, the keyspace and the peer transport on trio.

The task tree of a member: the peer transport, a ticker, the lease expirer and the Ready
loop. Everything that touches the RawNode goes through one event channel drained by the
Ready loop, so Raft is only ever driven from one task. Each turn of the loop steps every
queued message, proposes every queued request as one batch, then for each Ready:
persist + fsync (in a worker thread, while new work queues up: group commit), send,
apply, advance. Clients wait on the apply of their own entry, like etcd's wait.Wait.
The client API is in client_ops.py, membership changes in cluster_ops.py (mixins).
"""

from __future__ import annotations

import logging
import random
import struct
import time
from dataclasses import dataclass, replace

import trio

from engine.kv import (
    KVConfig, KVError, KVStore, LeaseRevokeRequest, min_lease_ttl,
)
from engine.kv.snapshot import SnapshotState, snapshot_parts
from engine.raft import (
    ConfChange, ConfChangeType, Config, Entry, EntryType, HardState, Message, MessageType,
    ProposalDropped, RawNode, Ready, Snapshot, SoftState, StateType,
)
from engine.raft.coalesce import coalesce

from . import errors_etcd as err
from .backend import Backend, backend_path
from .disk import DiskStorage, recorded_node_id
from .envelope import IdGenerator, Kind, Waiters, kv_request, unwrap, wrap
from .faultgate import FaultGate
from .client_ops import ClientMixin
from .cluster_ops import MembershipMixin
from .membership import Member, Membership
from .reads import ReadQueue
from .traffic import Traffic
from .transport import PeerTransport, parse_host_port

log = logging.getLogger("raftviz.server")

EVENT_QUEUE = 65536
SNAPSHOT_STEP = 500         # records encoded between two turns of the loop (~5 ms)
DEFAULT_MAX_REQUEST_BYTES = 1536 * 1024


@dataclass
class ServerConfig:
    name: str
    data_dir: str
    membership: Membership            # the initial cluster (or the one to join)
    peer_listen: tuple[str, int]
    client_urls: tuple[str, ...] = ()
    heartbeat_ms: int = 100
    election_ms: int = 1000
    snapshot_count: int = 10_000
    quota_backend_bytes: int = 2 * 1024 ** 3
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    request_timeout: float = 5.0
    new_cluster: bool = True          # --initial-cluster-state new (else: join existing)
    member_id: int = 0                # learned when joining (join.py); 0: see EtcdServer
    token: str = "etcd-cluster"
    ssl_server: object = None
    ssl_client: object = None

    @property
    def max_frame_size(self) -> int:
        """The largest peer frame this member accepts: a batch of the largest requests."""
        return self.max_request_bytes * 4 + (1 << 20)

    @property
    def election_ticks(self) -> int:
        return max(2, self.election_ms // self.heartbeat_ms)


class EtcdServer(ClientMixin, MembershipMixin):
    def __init__(self, cfg: ServerConfig) -> None:
        self.cfg = cfg
        self.membership = cfg.membership
        self.id = cfg.member_id or self._own_id()
        self.ids = IdGenerator(self.id, time.time_ns() >> 10)
        self.waiters = Waiters()
        self.gate = FaultGate(self.id, random.Random(self.id))
        self.traffic = Traffic()
        self.paused = False
        self.stopped = False
        self.lead = 0
        self.term = 0
        self.role = StateType.FOLLOWER
        self._send, self._recv = trio.open_memory_channel(EVENT_QUEUE)
        self.reads = ReadQueue(self.ids.next, retry_after=cfg.election_ms / 4000)
        self._applied_waiters: list[tuple[int, trio.Event]] = []
        self._retry: list[bytes] = []
        self.applied = 0
        self.on_apply = []          # observers: callables(entry, result)
        self.watch_sinks: dict[int, object] = {}   # kv watch id -> callable(responses)
        self.watch_origins: dict[int, object] = {}  # kv watch id -> its WatchOrigin
        self._snapshotting = False                 # from freezing to retiring old files
        self._snapshot_written: Snapshot | None = None   # on disk, not yet adopted

    # -- startup --

    def _own_id(self) -> int:
        """The id in the data dir if there is one (like etcd, which trusts its WAL over
        the flags: a member that joined has an id its flags do not give), else the id a
        founding member works out from its flags."""
        recorded = recorded_node_id(self.cfg.data_dir)
        if recorded is not None:
            return recorded
        me = self.membership.by_name(self.cfg.name)
        if me is None:
            raise ValueError(f"--initial-cluster has no member named {self.cfg.name!r}")
        return me.id

    def _open(self) -> None:
        self.storage = DiskStorage.open(self.cfg.data_dir, self.membership.cluster_id, self.id)
        tick_ms = self.cfg.heartbeat_ms
        self.kv = KVStore(KVConfig(
            quota_backend_bytes=self.cfg.quota_backend_bytes,
            min_lease_ttl=min_lease_ttl(election_ticks=self.cfg.election_ticks,
                                        tick_ms=tick_ms)))
        self.backend = Backend.open(backend_path(self.cfg.data_dir))
        loaded, members = self.backend.load(self.kv.config)
        snap = self.storage.snapshot()
        if loaded is not None and loaded.consistent_index >= snap.metadata.index:
            # The backend is at least as new as the newest Raft snapshot: start from it
            # and let replay skip what it already holds (its consistent index).
            self.kv, self.membership = loaded, Membership.decode(members)
        elif not snap.is_empty():
            self._restore(snap.data)
        elif self.storage.last_index() == 0 and self.cfg.new_cluster:
            self._bootstrap()
        elif self.storage.last_index() == 0:
            # Joining: keep the membership the cluster gave, so a restart before the
            # first apply still knows every peer's id.
            self.backend.commit(self.kv, self.membership.encode())
        # Not the backend's consistent index: that may be past what the WAL holds synced.
        self.applied = snap.metadata.index
        self.rawnode = RawNode(Config(
            id=self.id, storage=self.storage, rng=random.Random(self.id ^ time.time_ns()),
            election_tick=self.cfg.election_ticks, heartbeat_tick=1, applied=self.applied,
            check_quorum=True, pre_vote=True, max_size_per_msg=1 << 20,
        ))

    def _bootstrap(self) -> None:
        """A new cluster's log starts with one committed configuration entry per founding
        member (etcd raft's bootstrap), so every member, and any member that joins later
        and replays the log, learns the configuration from the log itself."""
        entries = []
        for i, m in enumerate(sorted(self.membership.members.values(), key=lambda m: m.id)):
            cc = ConfChange(ConfChangeType.ADD_NODE, m.id, wrap(Kind.MEMBER_ATTR, 0, m.encode()))
            entries.append(Entry(term=1, index=i + 1, type=EntryType.CONF_CHANGE,
                                 data=cc.encode()))
        self.storage.save(HardState(term=1, vote=0, commit=len(entries)), entries)

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        await trio.to_thread.run_sync(self._open)
        self.transport = PeerTransport(
            self.id, self.cfg.peer_listen, self._deliver, self.gate, self.traffic,
            unreachable=lambda peer: self._post(("unreachable", peer)),
            max_frame_size=self.cfg.max_frame_size,
            ssl_server=self.cfg.ssl_server, ssl_client=self.cfg.ssl_client,
            members=lambda: self.membership.encode())
        try:
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                await nursery.start(self.transport.run, self._peer_addresses())
                nursery.start_soon(self._ticker)
                nursery.start_soon(self._loop)
                nursery.start_soon(self._lease_expirer)
                nursery.start_soon(self._watch_syncer)
                nursery.start_soon(self._read_retrier)
                nursery.start_soon(self._publish_attributes)
                task_status.started(self)
        finally:
            self.stopped = True
            # Threads waiting on proposals would otherwise sit out their whole timeout
            # and hold up the process's exit.
            self.waiters.fail_all(err.stopped())
            self.storage.close()
            self.backend.close()

    def _peer_addresses(self) -> dict[int, tuple[str, int]]:
        return {m.id: parse_host_port(m.peer_urls[0])
                for m in self.membership.members.values() if m.id != self.id}

    # -- input to the loop --

    def _post(self, event: tuple) -> None:
        try:
            self._send.send_nowait(event)
        except trio.WouldBlock:
            log.warning("member %x: event queue full, dropping %s", self.id, event[0])

    def _deliver(self, m: Message) -> None:
        self._post(("msg", m))

    async def _ticker(self) -> None:
        period = self.cfg.heartbeat_ms / 1000
        while True:
            await trio.sleep(period)
            if not self.paused:
                self._post(("tick",))

    def step_ticks(self, n: int = 1) -> None:
        """While paused: advance this member's clock by n ticks."""
        for _ in range(n):
            self._post(("tick",))

    # -- the Ready loop --

    async def _loop(self) -> None:
        while True:
            batch = [await self._recv.receive()]
            while True:
                try:
                    batch.append(self._recv.receive_nowait())
                except trio.WouldBlock:
                    break
            self._step_all(batch)
            await self._handle_readies()

    def _step_all(self, events: list[tuple]) -> None:
        proposals: list[bytes] = self._retry if self.lead else []
        if self.lead:
            self._retry = []
        reads = False
        for ev in events:
            kind = ev[0]
            if kind == "msg":
                m = ev[1]
                if m.type is MessageType.PROP and self._can_absorb(m):
                    proposals.extend(e.data for e in m.entries)   # one append for all
                else:
                    self.rawnode.step(m)
            elif kind == "tick":
                self.rawnode.tick()
            elif kind == "prop":
                proposals.append(ev[1])
            elif kind == "read":
                reads = True
            elif kind == "unreachable":
                self.rawnode.report_unreachable(ev[1])
            elif kind == "call":
                ev[1]()
        if proposals:
            self._propose(proposals)
        if reads:
            self.reads.start_round(self.rawnode.read_index, trio.current_time())

    def _can_absorb(self, m: Message) -> bool:
        return (self.role is StateType.LEADER and self.rawnode.raft.lead_transferee == 0
                and all(e.type is EntryType.NORMAL for e in m.entries))

    def _propose(self, datas: list[bytes]) -> None:
        try:
            self.rawnode.propose_many(datas)
        except ProposalDropped:
            # No leader yet, or a leader transfer: keep them until one is known (clients
            # time out on their own if that takes too long).
            self._retry.extend(datas)

    async def _handle_readies(self) -> None:
        while self.rawnode.has_ready():
            rd = self.rawnode.ready()
            if rd.soft_state is not None:
                self._on_soft_state(rd.soft_state)
            if rd.hard_state is not None or rd.entries or rd.snapshot is not None:
                await trio.to_thread.run_sync(
                    self.storage.save, rd.hard_state, rd.entries, rd.snapshot, rd.must_sync)
            if rd.hard_state is not None:
                self.term = rd.hard_state.term
            self.transport.send(coalesce(rd.messages))
            if rd.snapshot is not None and not rd.snapshot.is_empty():
                self._restore(rd.snapshot.data)
                self.applied = rd.snapshot.metadata.index
                self._sync_peers()
            self._apply_all(rd.committed_entries)
            if rd.committed_entries or rd.snapshot is not None:
                self.backend.commit(self.kv, self.membership.encode())
            self.dispatch_watches()
            self._serve_reads(rd)
            self.rawnode.advance(rd)
            self._wake_applied()
            await self._maybe_snapshot()

    def _on_soft_state(self, ss: SoftState) -> None:
        was_leader = self.role is StateType.LEADER
        self.lead, self.role = ss.lead, ss.raft_state
        now = trio.current_time()
        if self.role is StateType.LEADER and not was_leader:
            # A new leader restarts every lease's clock: it cannot know how much of a
            # TTL passed under the old leader (etcd's lessor Promote).
            self.kv.promote(now, extend=self.cfg.election_ms / 1000)
        elif was_leader and self.role is not StateType.LEADER:
            self.kv.demote()

    def _serve_reads(self, rd: Ready) -> None:
        for rs in rd.read_states:
            self.reads.answered(rs.request_ctx, rs.index, self.applied)

    # -- applying --

    def _apply_all(self, entries: list[Entry]) -> None:
        for e in entries:
            if e.index <= self.applied:
                continue
            if e.type is EntryType.CONF_CHANGE:
                self._apply_conf_change(e)
            elif e.data:
                self._apply_normal(e)
            else:
                self.kv.advance_consistent_index(e.index)
            self.applied = e.index

    def _apply_normal(self, e: Entry) -> None:
        try:
            kind, rid, payload = unwrap(e.data)
        except ValueError as exc:
            log.error("member %x: skipping undecodable entry %d: %s", self.id, e.index, exc)
            self.kv.advance_consistent_index(e.index)
            return
        if kind in (Kind.MEMBER_ATTR, Kind.MEMBER_UPDATE):
            self._apply_member_record(kind, Member.decode(payload))
            self.kv.advance_consistent_index(e.index)
            self.waiters.trigger(rid, None)
            return
        result, error = None, None
        try:
            result = self.kv.apply(kv_request(payload), index=e.index,
                                   now=trio.current_time())
        except KVError as exc:
            error = exc
        for observe in self.on_apply:
            observe(e, result if error is None else error)
        self.waiters.trigger(rid, result, error)

    def _apply_member_record(self, kind: Kind, m: Member) -> None:
        old = self.membership.members.get(m.id)
        if old is None:
            return   # removed meanwhile
        if kind is Kind.MEMBER_ATTR:
            new = Member(m.id, m.name, old.peer_urls, m.client_urls, old.is_learner)
        else:
            new = Member(m.id, old.name, m.peer_urls, old.client_urls, old.is_learner)
        self.membership.update(new)
        self._sync_peers()

    def _apply_conf_change(self, e: Entry) -> None:
        cc = ConfChange.decode(e.data)
        _, rid, payload = unwrap(cc.context)
        self.kv.advance_consistent_index(e.index)
        if cc.type is ConfChangeType.REMOVE_NODE:
            self.membership.remove(cc.node_id)
        elif cc.node_id in self.membership.members and cc.type is ConfChangeType.ADD_NODE:
            self.membership.promote(cc.node_id)
        else:
            self.membership.add(Member.decode(payload))
        self.rawnode.apply_conf_change(cc)
        self._sync_peers()
        self.waiters.trigger(rid, self.membership)
        if cc.type is ConfChangeType.REMOVE_NODE and cc.node_id == self.id:
            log.warning("member %x: removed from the cluster", self.id)

    def _sync_peers(self) -> None:
        wanted = self._peer_addresses()
        for peer_id in list(self.transport.peers):
            if peer_id not in wanted:
                self.transport.remove_peer(peer_id)
        for peer_id, address in wanted.items():
            self.transport.add_peer(peer_id, address)

    def _wake_applied(self) -> None:
        self.reads.applied(self.applied)
        still = []
        for index, event in self._applied_waiters:
            if index <= self.applied:
                event.set()
            else:
                still.append((index, event))
        self._applied_waiters = still

    # -- snapshots --

    async def _maybe_snapshot(self) -> None:
        """Every snapshot_count applied entries, snapshot without stalling this loop (as
        etcd does, off its apply path). Here the state is frozen (a copy of the table of
        records: tens of ms at 100,000); another task encodes it in pieces, SNAPSHOT_STEP
        records between turns of this loop, then joins and writes them on a worker
        thread; a later turn adopts it, between two saves. Done all at once here, it
        stalled every member at the same moment: 1.4 s at 100,000 records."""
        written, self._snapshot_written = self._snapshot_written, None
        if written is not None:
            self.storage.adopt_snapshot(written)
            self.nursery.start_soon(self._retire_old_snapshots)
        first = self.storage.snapshot().metadata.index
        if self._snapshotting or self.applied - first < self.cfg.snapshot_count:
            return
        self._snapshotting = True
        # The term is read now, before a later compaction could drop the entry.
        snap = self.storage.snapshot_at(self.applied, self.rawnode.status().conf_state, b"")
        self.nursery.start_soon(self._write_snapshot, snap, self.membership.encode(),
                                self.kv.freeze())

    async def _write_snapshot(self, snap: Snapshot, members: bytes, kv: SnapshotState) -> None:
        try:
            parts = [struct.pack(">I", len(members)), members]
            for n, part in enumerate(snapshot_parts(kv), 1):
                parts.append(part)
                if n % SNAPSHOT_STEP == 0:
                    await trio.sleep(0)
            snap = await trio.to_thread.run_sync(self._join_and_write, snap, parts)
        except BaseException:
            self._snapshotting = False
            raise
        self._snapshot_written = snap

    def _join_and_write(self, snap: Snapshot, parts: list[bytes]) -> Snapshot:
        """On a worker thread: a 16 MB join on the loop took 0.6 s at 200,000 records."""
        snap = replace(snap, data=b"".join(parts))
        self.storage.write_snapshot(snap)
        return snap

    async def _retire_old_snapshots(self) -> None:
        try:
            await trio.to_thread.run_sync(self.storage.retire_old)
        finally:
            self._snapshotting = False

    def _restore(self, data: bytes) -> None:
        (n,) = struct.unpack_from(">I", data)
        self.membership = Membership.decode(data[4:4 + n])
        self.kv.install_snapshot(data[4 + n:])

    # -- watches --

    def dispatch_watches(self) -> None:
        """Hand every ready watch response to its stream; never blocks the loop (a
        stream that cannot keep up is the keyspace's unsynced-watcher problem)."""
        for watch_id, responses in self.kv.drain_responses().items():
            sink = self.watch_sinks.get(watch_id)
            if sink is not None:
                sink(responses)

    async def _watch_syncer(self) -> None:
        while True:
            await trio.sleep(0.1)
            self.kv.sync_watchers()
            self.dispatch_watches()

    # -- leases --

    async def _lease_expirer(self) -> None:
        while True:
            await trio.sleep(0.5)
            if self.role is not StateType.LEADER:
                continue
            for lease_id in self.kv.expired_leases(trio.current_time(), limit=500):
                self.nursery.start_soon(self._revoke_quietly, lease_id)

    async def _revoke_quietly(self, lease_id: int) -> None:
        try:
            await self.propose(LeaseRevokeRequest(lease_id))
        except (KVError, err.ServerError):
            pass   # gone already, or lost leadership: the next leader retries

    async def _publish_attributes(self) -> None:
        """Announce this member's client URLs through the log, as etcd does at start."""
        me = self.membership.members[self.id]
        member = Member(me.id, self.cfg.name, me.peer_urls, self.cfg.client_urls,
                        me.is_learner)
        while True:
            rid = self.ids.next()
            waiter = self.waiters.register(rid)
            self._post(("prop", wrap(Kind.MEMBER_ATTR, rid, member.encode())))
            with trio.move_on_after(self.cfg.request_timeout):
                await waiter.done.wait()
                return
            self.waiters.forget(rid)

    async def wait_applied(self, index: int) -> None:
        if index <= self.applied:
            return
        event = trio.Event()
        self._applied_waiters.append((index, event))
        await event.wait()

    def call_in_loop(self, fn) -> None:
        """Run fn on the Raft loop's turn (for RawNode calls from other tasks)."""
        self._post(("call", fn))

    def snapshot_bytes(self) -> bytes:
        """The backend database as one consistent blob (for Maintenance.Snapshot); safe
        to call from any thread."""
        return self.backend.snapshot_db()
