"""Turning the interactive world into the immutable views of `engine.observe`.

Running nodes are read through `RawNode.status()` and their in-memory log; a node that is
down shows what its disk holds, which is exactly what it would come back with. The
keyspace, leases and key histories come from one node's keyspace: the leader's, or when
there is none, the running node that has applied the most.
"""

from __future__ import annotations

from engine.kv import KeyValue, KVError, RangeRequest
from engine.kv.describe import show
from engine.observe import (
    AlarmView, EntryView, KeyRevision, KeyView, LeaseView, LogView, MessageView, NetworkView,
    NodeView, ProgressView,
)
from engine.raft import Entry, MessageType
from engine.raft.describe import describe_message

from .ui_keyspace import describe_entry
from .ui_net import Flight
from .ui_world import World

LOG_TAIL = 60
HISTORY_SHOWN = 200


def node_view(world: World, node_id: int) -> NodeView:
    n = world.nodes[node_id]
    removed = node_id in world.removed
    if not n.up:
        return _down_node_view(world, node_id, removed)
    st = n.rawnode.status()
    progress = tuple(ProgressView(peer, p.match, p.next, p.state.value, p.recent_active,
                                  p.inflight, p.is_learner)
                     for peer, p in st.progress.items())
    store = world.store(node_id)
    pending = world.syncing.get(node_id)
    return NodeView(
        id=node_id, up=True, paused=node_id in world.paused,
        role=st.soft_state.raft_state.value, term=st.hard_state.term,
        vote=st.hard_state.vote, lead=st.soft_state.lead, commit=st.hard_state.commit,
        applied=st.applied, first_index=st.first_index, last_index=st.last_index,
        snapshot_index=n.disk.snapshot().metadata.index,
        voter=node_id in st.conf_state.voters, learner=node_id in st.conf_state.learners,
        removed=removed, lead_transferee=st.lead_transferee, progress=progress,
        clock_rate=world.clocks[node_id].rate,
        syncing=len(pending[0].entries) if pending else 0, revision=store.current_revision,
        db_size=world.db_size[node_id], db_in_use=store.size_bytes,
        alarms=tuple(sorted({a.alarm.name for a in store.alarms()})), **_flags(world, node_id))


def _flags(world: World, node_id: int) -> dict[str, bool]:
    """The Raft options the node started with (a change waits for its next start)."""
    cfg = world.nodes[node_id].rawnode.raft.cfg
    return {"pre_vote": cfg.pre_vote, "check_quorum": cfg.check_quorum}


def _down_node_view(world: World, node_id: int, removed: bool) -> NodeView:
    disk = world.nodes[node_id].disk
    hs, cs = disk.hard_state, world.nodes[node_id].conf_state()
    return NodeView(
        id=node_id, up=False, paused=False, role="follower", term=hs.term, vote=hs.vote,
        lead=0, commit=hs.commit, applied=0, first_index=disk.first_index(),
        last_index=disk.last_index(), snapshot_index=disk.snapshot().metadata.index,
        voter=node_id in cs.voters, learner=node_id in cs.learners, removed=removed,
        clock_rate=world.clocks[node_id].rate, db_size=world.db_size[node_id],
        **_flags(world, node_id))


def entry_view(e: Entry) -> EntryView:
    kind, text, request_id = describe_entry(e)
    return EntryView(e.index, e.term, kind, text, request_id)


def log_view(world: World, node_id: int) -> LogView:
    n = world.nodes[node_id]
    disk = n.disk
    snap = disk.snapshot().metadata
    if n.up:
        log = n.rawnode.raft.raft_log
        first, last = log.first_index(), log.last_index()
        entries = log.slice(max(first, last - LOG_TAIL + 1), last + 1) if last >= first else []
        commit, applied = log.committed, n.applied
    else:
        first, last = disk.first_index(), disk.last_index()
        start = max(first, last - LOG_TAIL + 1)
        entries = disk.entries(start, last + 1) if last >= first else []
        commit, applied = disk.hard_state.commit, 0
    return LogView(node_id, tuple(entry_view(e) for e in entries), first, last,
                   snap.index, snap.term, commit, applied, disk.last_index())


def _entries_summary(f: Flight) -> tuple[str, int]:
    entries = f.msg.entries
    if not entries:
        if f.msg.type is MessageType.SNAP and f.msg.snapshot is not None:
            return f"snapshot @{f.msg.snapshot.metadata.index}", 0
        return "", 0
    if len(entries) == 1:
        return f"1 entry @{entries[0].index}", 1
    return f"{len(entries)} entries {entries[0].index}..{entries[-1].index}", len(entries)


def message_view(f: Flight) -> MessageView:
    m = f.msg
    summary, count = _entries_summary(f)
    carried = tuple(rid for rid in (describe_entry(e)[2] for e in m.entries) if rid)
    return MessageView(
        f.id, m.type.value, m.frm, m.to, m.term, m.index, m.log_term, m.commit, summary,
        count, m.reject, describe_message(m), f.status, f.sent_at, f.deliver_at,
        f.delivered_at, f.note, carried)


def network_view(world: World) -> NetworkView:
    p = world.wire.params
    return NetworkView(p.min_delay, p.max_delay, p.drop_rate, p.duplicate_rate, p.reorder,
                       world.fsync_ms, world.wire.hold, tuple(sorted(world.wire.cuts)))


def messages(world: World) -> tuple[tuple[MessageView, ...], tuple[MessageView, ...]]:
    pending = sorted(world.wire.pending.values(),
                     key=lambda f: (f.deliver_at is not None, f.deliver_at or 0, f.id))
    history = list(world.wire.history)[-HISTORY_SHOWN:]
    return tuple(map(message_view, pending)), tuple(map(message_view, history))


def _key_view(kv: KeyValue) -> KeyView:
    return KeyView(show(kv.key), show(kv.value), kv.create_revision, kv.mod_revision,
                   kv.version, kv.lease)


def keyspace(world: World, node_id: int) -> tuple[tuple[KeyView, ...], int, int]:
    if not node_id:
        return (), 0, 0
    store = world.store(node_id)
    kvs = store.range(RangeRequest(b"\0", b"\0")).kvs
    return tuple(map(_key_view, kvs)), store.current_revision, store.compact_revision


def alarms(world: World, node_id: int) -> tuple[AlarmView, ...]:
    """The raised alarms as `node_id`'s keyspace knows them (`etcdctl alarm list`)."""
    if not node_id:
        return ()
    return tuple(AlarmView(a.member_id, a.alarm.name) for a in world.store(node_id).alarms())


def leases(world: World, node_id: int, keys: tuple[KeyView, ...]) -> tuple[LeaseView, ...]:
    if not node_id:
        return ()
    store = world.store(node_id)
    primary = store.is_leader
    now = world.clocks[node_id].seconds()
    views = []
    for lease_id in store.lease_leases().leases:
        remaining = _remaining(store, lease_id, now) if primary else None
        attached = tuple(k.key for k in keys if k.lease == lease_id)
        views.append(LeaseView(lease_id, world.lease_ttls.get(lease_id, 0), remaining,
                               attached))
    return tuple(views)


def _remaining(store, lease_id: int, now: float) -> int | None:
    try:
        return store.lease_time_to_live(lease_id, now).ttl
    except (KVError, AssertionError):
        return None   # a lease the leader's clock does not (yet) keep: shown as unknown


def key_history(world: World, key: str) -> tuple[KeyRevision, ...]:
    """Every kept change of `key`, newest first, read through a short-lived watch."""
    node_id = world.keyspace_node()
    if not node_id:
        return ()
    store = world.store(node_id)
    start = max(1, store.compact_revision)
    watch_id = store.watch(key.encode(), b"", start, watch_id=-1)
    try:
        responses = store.take_responses(watch_id)
    finally:
        store.cancel_watch(watch_id)
    changes = []
    for response in responses:
        for ev in response.events:
            kv = ev.kv
            event = "put" if ev.type.name == "PUT" else "delete"
            changes.append(KeyRevision(kv.mod_revision, event, show(kv.value), kv.version,
                                       kv.create_revision, kv.lease))
    return tuple(reversed(changes))
