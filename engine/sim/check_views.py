"""What a replay of a `raftviz check` run shows: the wiretap and the views it draws from.

The check world (world.py) keeps no record of the wire: a message in flight is a queue
entry, a lost one leaves only a line in the world's recent events. `Wiretap` follows the
world one event at a time and keeps what a viewer needs: when each queued message was
sent, the deliveries and losses of late, and what the last event was. It holds plain
data only, so a replay can checkpoint it together with the world with one deep copy.

The view builders turn the world's SimNodes, queue and network into the frozen views of
`engine.observe`. A running node is read through `RawNode.status()` and its in-memory log;
a crashed one shows what its disk holds, which is what it will come back with.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from engine.observe import (
    EntryView, LogView, MessageStatus, MessageView, NetworkView, NodeView, ProgressView,
)
from engine.raft import ConfChange, Entry, EntryType, Message, MessageType
from engine.raft.describe import describe_message, format_data

from .events import ClientOp, Lost, Note, Synced, describe_event
from .params import TICK
from .world import World

LOG_TAIL = 60
HISTORY_KEPT = 200
DETAIL_CHARS = 140           # one extra detail of an event, in the note, at most
LOSS_WORDS = {"drop": "lost by the network", "cut": "the link is cut"}


@dataclass(frozen=True, slots=True)
class LastEvent:
    number: int
    time: int
    text: str                    # the world's own line for the event
    details: tuple[str, ...]     # what it led to: faults, client requests, durable writes


class Wiretap:
    def __init__(self) -> None:
        self.sent: dict[int, tuple[int, int]] = {}     # queue seq -> (message id, sent at)
        self.history: deque[MessageView] = deque(maxlen=HISTORY_KEPT)
        self.next_id = 1
        self.seen_seq = 0
        self.last: LastEvent | None = None

    def step(self, world: World) -> None:
        """Run the world's next event and record what it did to the wire."""
        t, seq, ev = world.queue[0]
        target_up = world.nodes[ev.to].up if isinstance(ev, Message) else True
        mark = world.recent[-1] if world.recent else None
        world.run_events(1)
        added = _added_since(world.recent, mark)
        if isinstance(ev, Message):
            self._delivered(ev, seq, t, target_up)
        self._sent(world)
        self._lost(added)
        details = tuple(_detail(e) for _, e in added if isinstance(e, (Note, ClientOp, Synced)))
        self.last = LastEvent(world.events, t, describe_event(ev), details)

    def _delivered(self, m: Message, seq: int, t: int, target_up: bool) -> None:
        msg_id, sent_at = self.sent.pop(seq)
        if target_up:
            self.history.append(message_view(m, msg_id, MessageStatus.DELIVERED, sent_at,
                                             t, delivered_at=t))
        else:
            self.history.append(message_view(m, msg_id, MessageStatus.DROPPED, sent_at, t,
                                             note=f"node {m.to} is down"))

    def _sent(self, world: World) -> None:
        """Messages queued by this event: the only queue entries with a newer seq."""
        if world.seq == self.seen_seq:
            return
        fresh = sorted((seq, t) for t, seq, ev in world.queue
                       if seq >= self.seen_seq and isinstance(ev, Message))
        for seq, _ in fresh:
            self.sent[seq] = (self.next_id, world.now)
            self.next_id += 1
        self.seen_seq = world.seq

    def _lost(self, added: list) -> None:
        for t, e in added:
            if isinstance(e, Lost):
                note = LOSS_WORDS.get(e.reason, e.reason)
                self.history.append(message_view(e.msg, self.next_id, MessageStatus.DROPPED,
                                                 t, None, note=note))
                self.next_id += 1


def _added_since(recent: deque, mark: object) -> list:
    """The entries appended to the world's recent events after `mark` (all of them if
    the deque has rolled past it)."""
    added = []
    for item in reversed(recent):
        if item is mark:
            break
        added.append(item)
    added.reverse()
    return added


def _detail(e: object) -> str:
    text = describe_event(e)
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS - 3] + "..."


# -- messages --------------------------------------------------------------------------


def _entries_summary(m: Message) -> tuple[str, int]:
    if m.type is MessageType.SNAP and m.snapshot is not None:
        return f"snapshot @{m.snapshot.metadata.index}", 0
    count = len(m.entries)
    if count == 0:
        return "", 0
    if count == 1:
        return f"1 entry @{m.entries[0].index}", 1
    return f"{count} entries {m.entries[0].index}..{m.entries[-1].index}", count


def message_view(m: Message, msg_id: int, status: MessageStatus, sent_at: int,
                 deliver_at: int | None, delivered_at: int | None = None,
                 note: str = "") -> MessageView:
    summary, count = _entries_summary(m)
    return MessageView(
        msg_id, m.type.value, m.frm, m.to, m.term, m.index, m.log_term, m.commit, summary,
        count, m.reject, describe_message(m), status, sent_at, deliver_at, delivered_at,
        note)


def in_flight(world: World, tap: Wiretap) -> tuple[MessageView, ...]:
    """Every queued message, soonest first."""
    views = []
    for t, seq, ev in world.queue:
        if isinstance(ev, Message):
            msg_id, sent_at = tap.sent[seq]
            note = "" if world.nodes[ev.to].up else f"node {ev.to} is down"
            views.append(message_view(ev, msg_id, MessageStatus.IN_FLIGHT, sent_at, t,
                                      note=note))
    views.sort(key=lambda v: (v.deliver_at, v.id))
    return tuple(views)


# -- nodes and logs ----------------------------------------------------------------------


def node_view(world: World, node_id: int) -> NodeView:
    node = world.nodes[node_id]
    if not node.up:
        return _down_node_view(world, node_id)
    st = node.rawnode.status()
    progress = tuple(ProgressView(peer, p.match, p.next, p.state.value, p.recent_active,
                                  p.inflight, p.is_learner)
                     for peer, p in st.progress.items())
    cs = st.conf_state
    taken = world.inflight[node_id]    # a Ready waiting for its disk sync
    return NodeView(
        id=node_id, up=True, paused=False, role=st.soft_state.raft_state.value,
        term=st.hard_state.term, vote=st.hard_state.vote, lead=st.soft_state.lead,
        commit=st.hard_state.commit, applied=st.applied, first_index=st.first_index,
        last_index=st.last_index, snapshot_index=node.disk.snapshot().metadata.index,
        voter=node_id in cs.voters, learner=node_id in cs.learners,
        removed=node_id not in cs.voters and node_id not in cs.learners,
        lead_transferee=st.lead_transferee, progress=progress,
        clock_rate=_clock_rate(world, node_id),
        syncing=len(taken.entries) if taken is not None else 0)


def _down_node_view(world: World, node_id: int) -> NodeView:
    node = world.nodes[node_id]
    disk, cs = node.disk, node.conf_state()
    hs = disk.hard_state
    return NodeView(
        id=node_id, up=False, paused=False, role="follower", term=hs.term, vote=hs.vote,
        lead=0, commit=hs.commit, applied=0, first_index=disk.first_index(),
        last_index=disk.last_index(), snapshot_index=disk.snapshot().metadata.index,
        voter=node_id in cs.voters, learner=node_id in cs.learners,
        removed=node_id not in cs.voters and node_id not in cs.learners,
        clock_rate=_clock_rate(world, node_id))


def _clock_rate(world: World, node_id: int) -> int:
    """Per cent of nominal speed: a node whose tick period is short runs fast."""
    return round(100 * TICK / world.params.tick_periods[node_id - 1])


def entry_view(e: Entry) -> EntryView:
    if e.type is EntryType.CONF_CHANGE:
        cc = ConfChange.decode(e.data)
        return EntryView(e.index, e.term, "conf", f"{cc.type.value} {cc.node_id}")
    if not e.data:
        return EntryView(e.index, e.term, "empty", "(empty: a new leader's first entry)")
    return EntryView(e.index, e.term, "normal", format_data(e.data))


def log_view(world: World, node_id: int) -> LogView:
    node = world.nodes[node_id]
    disk = node.disk
    snap = disk.snapshot().metadata
    if node.up:
        log = node.rawnode.raft.raft_log
        first, last = log.first_index(), log.last_index()
        entries = log.slice(max(first, last - LOG_TAIL + 1), last + 1) if last >= first else []
        commit, applied = log.committed, node.applied
    else:
        first, last = disk.first_index(), disk.last_index()
        entries = disk.entries(max(first, last - LOG_TAIL + 1), last + 1) \
            if last >= first else []
        commit, applied = disk.hard_state.commit, 0
    return LogView(node_id, tuple(map(entry_view, entries)), first, last, snap.index,
                   snap.term, commit, applied, disk.last_index())


def network_view(world: World) -> NetworkView:
    net, p = world.network, world.params
    cuts = sorted({link for links in net.cuts.values() for link in links})
    return NetworkView(net.lo, net.lo + net.span, net.drop, net.dup, net.span > 1,
                       p.disk_lo, False, tuple(cuts))
