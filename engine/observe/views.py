"""The views: frozen snapshots of a cluster, its nodes, logs, messages, keyspace, watches,
leases and requests, as a driver hands them to an interface."""

from __future__ import annotations

from dataclasses import dataclass

from engine.kv.keys import KeySpan

from .kinds import Cap, MessageStatus

__all__ = [
    "ProgressView", "NodeView", "EntryView", "LogView", "MessageView", "KeyView",
    "KeyRevision", "WatchEventView", "WatchView", "LeaseView", "AlarmView", "NodeTime",
    "RequestTrace", "NetworkView", "ClusterView", "ClientResult", "CLIENT_HELP",
    "watch_saw",
]


@dataclass(frozen=True, slots=True)
class ProgressView:
    """The leader's bookkeeping for one follower."""
    peer: int
    match: int
    next: int
    state: str              # probe | replicate | snapshot
    recent_active: bool
    inflight: int
    learner: bool


@dataclass(frozen=True, slots=True)
class NodeView:
    id: int
    up: bool
    paused: bool
    role: str               # leader | follower | candidate | pre-candidate
    term: int
    vote: int
    lead: int
    commit: int
    applied: int
    first_index: int
    last_index: int
    snapshot_index: int
    voter: bool
    learner: bool
    removed: bool = False
    lead_transferee: int = 0
    progress: tuple[ProgressView, ...] = ()
    clock_rate: int = 100   # per cent of real time
    syncing: int = 0        # entries written but waiting for their fsync
    revision: int = 0       # this member's keyspace revision
    db_size: int = 0        # bytes the database file takes
    db_in_use: int = 0      # bytes of it holding live data
    alarms: tuple[str, ...] = ()   # alarm types this member's keyspace has raised (NOSPACE)
    pre_vote: bool = True   # the Raft options the member started with
    check_quorum: bool = True
    client_url: str = ""    # where clients such as etcdctl reach a live member

    @property
    def is_leader(self) -> bool:
        return self.up and self.role == "leader"

    @property
    def state_text(self) -> str:
        """Role in words, for places where colour must not carry meaning alone."""
        if self.removed:
            return "removed"
        if not self.up:
            return "down"
        return self.role + (" (paused)" if self.paused else "")


@dataclass(frozen=True, slots=True)
class EntryView:
    index: int
    term: int
    kind: str               # normal | conf | empty
    text: str
    request_id: str | None = None
    revision: int = 0       # the keyspace revision applying it produced (0: none, unknown)


@dataclass(frozen=True, slots=True)
class LogView:
    """The tail of one node's log, with the lines that matter drawn through it."""
    node: int
    entries: tuple[EntryView, ...]
    first_index: int
    last_index: int
    snapshot_index: int
    snapshot_term: int
    commit: int
    applied: int
    synced_index: int       # entries above this are written but not yet durable


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    type: str
    frm: int
    to: int
    term: int
    index: int
    log_term: int
    commit: int
    entries: str            # short summary, e.g. "2 entries 4..5"
    entry_count: int
    reject: bool
    text: str               # the one text form (engine.raft.describe)
    status: MessageStatus
    sent_at: int            # milliseconds of cluster time
    deliver_at: int | None = None
    delivered_at: int | None = None
    note: str = ""          # why it was dropped, or where it waits
    request_ids: tuple[str, ...] = ()   # client requests its entries carry

    @property
    def heartbeat(self) -> bool:
        return self.type in ("MsgHeartbeat", "MsgHeartbeatResp")

    @property
    def watched(self) -> bool:
        """Live traffic: a member reported it after sending it, so it was never held and
        no command takes it. Such messages have negative ids."""
        return self.id < 0


@dataclass(frozen=True, slots=True)
class KeyView:
    key: str
    value: str
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


@dataclass(frozen=True, slots=True)
class KeyRevision:
    """One change in a key's history."""
    revision: int
    event: str              # put | delete
    value: str
    version: int
    create_revision: int
    lease: int = 0


@dataclass(frozen=True, slots=True)
class WatchEventView:
    revision: int
    event: str              # PUT | DELETE
    key: str
    value: str
    request_id: str | None = None


def watch_saw(watch_id: int, node: int, event: str, key: str) -> str:
    """How a followed request names a watch event it fired."""
    return f"watch {watch_id} on node {node}: {event} {key}"


@dataclass(frozen=True, slots=True)
class WatchView:
    id: int
    node: int
    key: str
    range_end: str
    start_revision: int
    events: tuple[WatchEventView, ...]   # the most recent ones
    total_events: int
    canceled: bool = False
    compact_revision: int = 0
    client: str = ""     # set for a watcher another client opened (its address and library)
    position: int = 0    # that watcher has been given every revision up to this one
    filters: tuple[str, ...] = ()    # the events it asked not to get: NOPUT, NODELETE

    def wants(self, event: WatchEventView) -> bool:
        return f"NO{event.event}" not in self.filters

    def saw(self, event: WatchEventView) -> str:
        """How a followed request names this watch's event."""
        text = watch_saw(self.id, self.node, event.event, event.key)
        return f"{self.client}: {text}" if self.client else text

    def span(self) -> KeySpan:
        """Its keys, read back from etcd's (key, range_end) as text."""
        return KeySpan.of(self.key.encode(), self.range_end.encode())

    def covers(self, key: str) -> bool:
        return self.span().contains(key.encode())

    @property
    def target(self) -> str:
        if not self.range_end:
            return self.key
        if self.range_end == "\0":
            return "every key" if self.key == "\0" else f"{self.key} and every key after"
        return f"[{self.key}, {self.range_end})"


@dataclass(frozen=True, slots=True)
class LeaseView:
    id: int
    ttl: int
    remaining: int | None    # seconds; None when no leader keeps its clock
    keys: tuple[str, ...]

    @property
    def hex_id(self) -> str:
        return format(self.id, "x")


@dataclass(frozen=True, slots=True)
class AlarmView:
    """A raised alarm, as `etcdctl alarm list` shows it: which member raised which alarm."""
    member: int
    alarm: str              # NOSPACE | CORRUPT


@dataclass(frozen=True, slots=True)
class NodeTime:
    node: int
    time: int


@dataclass(frozen=True, slots=True)
class RequestTrace:
    """One client request followed all the way: proposal, log, commit, apply, result."""
    id: str
    line: str
    node: int               # the member that took the request and answers it
    proposed_at: int
    status: str             # pending | done | failed
    answer: str = ""
    index: int = 0
    term: int = 0
    appended: tuple[NodeTime, ...] = ()
    committed: tuple[NodeTime, ...] = ()
    applied: tuple[NodeTime, ...] = ()
    revision: int = 0
    watch_events: tuple[str, ...] = ()
    finished_at: int | None = None
    path: str = "log"       # log (through Raft) | read-index | local | logged (seen in
                            # the logs, sent by a client outside the interface)

    def when(self, stage: str, node: int) -> int | None:
        for item in getattr(self, stage):
            if item.node == node:
                return item.time
        return None


@dataclass(frozen=True, slots=True)
class NetworkView:
    min_delay: int
    max_delay: int
    drop_rate: float
    duplicate_rate: float
    reorder: bool
    fsync_ms: int
    hold: bool
    cuts: tuple[tuple[int, int], ...]   # (from, to) links that lose every message


@dataclass(frozen=True, slots=True)
class ClusterView:
    time: int                           # milliseconds of cluster time
    event: int                          # commands executed so far
    last_event: int                     # how far redo can go
    clock: str                          # manual | live
    nodes: tuple[NodeView, ...]
    logs: tuple[LogView, ...]
    messages: tuple[MessageView, ...]   # held and in flight
    history: tuple[MessageView, ...]    # recently delivered, dropped or sent, oldest first
    network: NetworkView
    keyspace: tuple[KeyView, ...]
    keyspace_node: int
    revision: int
    compact_revision: int
    watches: tuple[WatchView, ...]
    leases: tuple[LeaseView, ...]
    requests: tuple[RequestTrace, ...]
    capabilities: frozenset[Cap]
    note: str = ""                      # what the last command did, in a sentence
    seed: int | None = None
    paused: bool = False
    alarms: tuple[AlarmView, ...] = ()  # raised alarms, as the keyspace node knows them
    key_count: int = 0                  # keys on the keyspace node: more than shown when a
                                        # driver shows only the first ones (0: as shown)
    unlisted_watches: int = 0           # clients' watchers their nodes did not list (each
                                        # lists only its first ones)
    unshown_messages: int = 0           # messages live members sent that no report carried

    def node(self, node_id: int) -> NodeView | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def log(self, node_id: int) -> LogView | None:
        return next((lg for lg in self.logs if lg.node == node_id), None)

    def leader(self) -> NodeView | None:
        leaders = [n for n in self.nodes if n.is_leader]
        return max(leaders, key=lambda n: n.term) if leaders else None

    def request(self, request_id: str) -> RequestTrace | None:
        return next((r for r in self.requests if r.id == request_id), None)

    def logged(self, request_id: str) -> RequestTrace | None:
        """A request this interface did not send (etcdctl, another program), as the logs
        show it now: its entry, which nodes have it appended, committed and applied
        (times unknown: 0), the revision it produced and the watch events of that
        revision. None once no log tail shows it."""
        found = [e for lg in self.logs for e in lg.entries if e.request_id == request_id]
        if not found:
            return None
        entry = found[0]
        stages: dict[str, list[NodeTime]] = {"appended": [], "committed": [], "applied": []}
        for lg in self.logs:
            if not any(e.index == entry.index and e.term == entry.term for e in lg.entries):
                continue
            stages["appended"].append(NodeTime(lg.node, 0))
            if lg.commit >= entry.index:
                stages["committed"].append(NodeTime(lg.node, 0))
            if lg.applied >= entry.index:
                stages["applied"].append(NodeTime(lg.node, 0))
        revision = max(e.revision for e in found)
        events = tuple(w.saw(ev) for w in self.watches for ev in w.events
                       if revision and ev.revision == revision)
        return RequestTrace(request_id, entry.text, 0, 0,
                            "done" if stages["committed"] else "pending",
                            index=entry.index, term=entry.term,
                            **{stage: tuple(times) for stage, times in stages.items()},
                            revision=revision, watch_events=events, path="logged")

    def message(self, msg_id: int) -> MessageView | None:
        return next((m for m in self.messages if m.id == msg_id), None)


@dataclass(frozen=True, slots=True)
class ClientResult:
    request_id: str
    node: int
    status: str             # pending | done | failed
    answer: str


# The client language every driver accepts in `Backend.client` (etcdctl's words).
CLIENT_HELP = """commands (etcdctl-like; start with @N to send to node N):
  put KEY VALUE [--lease=ID] [--prev-kv]
  get KEY [END] [--prefix|--from-key] [--rev=N] [--limit=N] [--consistency=s]
  del KEY [END] [--prefix|--from-key] [--prev-kv]
  txn CMP [&& CMP] then OP [; OP] [else OP [; OP]]   e.g. txn mod(a) = 0 then put a 1
  watch KEY [END] [--prefix] [--rev=N] [--prev-kv]    unwatch ID
  lease grant TTL | revoke ID | keep-alive ID | timetolive ID [--keys] | list
  compact REV    alarm list | disarm"""
