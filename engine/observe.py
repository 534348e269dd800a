"""What a user interface sees of a cluster, and what it may ask of it: the driver contract.

Any driver (the deterministic simulator today, the live trio cluster or a real etcd later)
hands out immutable snapshots of the whole cluster (`ClusterView`) and accepts commands
(`Tick`, `Deliver`, `Partition`, `Crash`, ...). A driver that cannot do something leaves
that `Cap` out of its capabilities, so an interface can show the control as unavailable
instead of failing. Every view is a frozen, slotted dataclass: safe to share between
threads and tasks, cheap to compare, and never a window onto live engine state.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, ClassVar, Protocol, Union, runtime_checkable


class Cap(enum.Enum):
    """Things a driver can do; commands name the capability they need."""
    MANUAL_CLOCK = "time moves only when asked (tick, step, play)"
    PAUSE_WORLD = "stop and resume a running cluster"
    HOLD = "hold messages for delivery one at a time"
    DELIVER = "deliver or drop a chosen message"
    PARTITION = "cut links between nodes, one-way or both"
    NETWORK = "change message delay, loss, duplication and reordering"
    DISK = "change how long a disk sync takes"
    CRASH = "crash and restart nodes"
    PAUSE_NODE = "freeze a single node"
    SKEW = "make one node's clock run fast or slow"
    CAMPAIGN = "make a node start an election"
    TRANSFER = "transfer leadership"
    MEMBERSHIP = "add a learner, promote it, remove a member"
    SNAPSHOT = "snapshot a node and compact its log"
    COMPACT = "compact the keyspace history"
    DEFRAG = "defragment a node's database"
    CLIENT = "send client requests"
    HISTORY = "undo, redo and jump to any earlier event"


class MessageStatus(enum.Enum):
    HELD = "held"
    IN_FLIGHT = "in flight"
    DELIVERED = "delivered"
    DROPPED = "dropped"


class CrashMode(enum.Enum):
    KEEP_DISK = "keep-disk"          # the process dies; everything it wrote survives
    LOSE_UNSYNCED = "lose-unsynced"  # power loss: writes still waiting for fsync are gone
    TORN = "torn"                    # power loss mid-write: the last WAL record is half
                                     # written, and cut off (checksum) at restart
    WIPE = "wipe"                    # the machine is replaced: the disk is blank


# --- views ------------------------------------------------------------------------------


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

    @property
    def target(self) -> str:
        if not self.range_end:
            return self.key
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
    path: str = "log"       # log (through Raft) | read-index | local

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
    history: tuple[MessageView, ...]    # recently delivered or dropped, oldest first
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

    def node(self, node_id: int) -> NodeView | None:
        return next((n for n in self.nodes if n.id == node_id), None)

    def log(self, node_id: int) -> LogView | None:
        return next((lg for lg in self.logs if lg.node == node_id), None)

    def leader(self) -> NodeView | None:
        leaders = [n for n in self.nodes if n.is_leader]
        return max(leaders, key=lambda n: n.term) if leaders else None

    def request(self, request_id: str) -> RequestTrace | None:
        return next((r for r in self.requests if r.id == request_id), None)

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


# --- commands ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Tick:
    """Advance cluster time by `count` ticks, delivering whatever falls due meanwhile."""
    count: int = 1
    cap: ClassVar[Cap] = Cap.MANUAL_CLOCK


@dataclass(frozen=True, slots=True)
class Step:
    """Advance to the next single event: a delivery, a disk sync or a node's tick."""
    count: int = 1
    cap: ClassVar[Cap] = Cap.MANUAL_CLOCK


@dataclass(frozen=True, slots=True)
class PauseWorld:
    paused: bool = True
    cap: ClassVar[Cap] = Cap.PAUSE_WORLD


@dataclass(frozen=True, slots=True)
class Hold:
    """Hold every new message until it is delivered or dropped by hand."""
    on: bool = True
    cap: ClassVar[Cap] = Cap.HOLD


@dataclass(frozen=True, slots=True)
class Deliver:
    msg_id: int
    cap: ClassVar[Cap] = Cap.DELIVER


@dataclass(frozen=True, slots=True)
class DeliverAll:
    """Deliver every held message, oldest first."""
    cap: ClassVar[Cap] = Cap.DELIVER


@dataclass(frozen=True, slots=True)
class Drop:
    msg_id: int
    cap: ClassVar[Cap] = Cap.DELIVER


@dataclass(frozen=True, slots=True)
class Partition:
    """Cut directed links: (a, b) loses every message from a to b."""
    links: tuple[tuple[int, int], ...]
    cap: ClassVar[Cap] = Cap.PARTITION

    @classmethod
    def groups(cls, *groups: tuple[int, ...] | list[int]) -> Partition:
        """Nodes talk only within their group (both directions cut between groups)."""
        links = [(a, b) for g in groups for h in groups if g is not h for a in g for b in h]
        return cls(tuple(sorted(set(links))))

    @classmethod
    def one_way(cls, frm: int, to: int) -> Partition:
        return cls(((frm, to),))


@dataclass(frozen=True, slots=True)
class Heal:
    cap: ClassVar[Cap] = Cap.PARTITION


@dataclass(frozen=True, slots=True)
class SetNetwork:
    min_delay: int = 5             # milliseconds
    max_delay: int = 25
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder: bool = True
    cap: ClassVar[Cap] = Cap.NETWORK


@dataclass(frozen=True, slots=True)
class SetDisk:
    fsync_ms: int = 0
    cap: ClassVar[Cap] = Cap.DISK


@dataclass(frozen=True, slots=True)
class Crash:
    node: int
    mode: CrashMode = CrashMode.KEEP_DISK
    cap: ClassVar[Cap] = Cap.CRASH


@dataclass(frozen=True, slots=True)
class SetRaftFlags:
    """Switch PreVote or CheckQuorum (None: leave it). As etcd reads its flags at boot, each
    node takes the new setting when it next starts: roll it out by restarting them."""
    pre_vote: bool | None = None
    check_quorum: bool | None = None
    cap: ClassVar[Cap] = Cap.CRASH


@dataclass(frozen=True, slots=True)
class Restart:
    node: int
    cap: ClassVar[Cap] = Cap.CRASH


@dataclass(frozen=True, slots=True)
class PauseNode:
    node: int
    paused: bool = True
    cap: ClassVar[Cap] = Cap.PAUSE_NODE


@dataclass(frozen=True, slots=True)
class SkewClock:
    node: int
    rate: int = 100                # per cent: 200 runs twice as fast, 50 half as fast
    cap: ClassVar[Cap] = Cap.SKEW


@dataclass(frozen=True, slots=True)
class Campaign:
    node: int
    cap: ClassVar[Cap] = Cap.CAMPAIGN


@dataclass(frozen=True, slots=True)
class TransferLeader:
    to: int
    cap: ClassVar[Cap] = Cap.TRANSFER


@dataclass(frozen=True, slots=True)
class AddLearner:
    node: int = 0                  # 0: the next free id
    cap: ClassVar[Cap] = Cap.MEMBERSHIP


@dataclass(frozen=True, slots=True)
class Promote:
    node: int
    cap: ClassVar[Cap] = Cap.MEMBERSHIP


@dataclass(frozen=True, slots=True)
class RemoveMember:
    node: int
    cap: ClassVar[Cap] = Cap.MEMBERSHIP


@dataclass(frozen=True, slots=True)
class Snapshot:
    node: int
    cap: ClassVar[Cap] = Cap.SNAPSHOT


@dataclass(frozen=True, slots=True)
class Compact:
    revision: int = 0              # 0: the current revision
    cap: ClassVar[Cap] = Cap.COMPACT


@dataclass(frozen=True, slots=True)
class Defrag:
    node: int
    cap: ClassVar[Cap] = Cap.DEFRAG


@dataclass(frozen=True, slots=True)
class Client:
    """An etcdctl-like command line, e.g. `put greeting hello`; node 0 lets the driver pick."""
    line: str
    node: int = 0
    cap: ClassVar[Cap] = Cap.CLIENT


@dataclass(frozen=True, slots=True)
class Undo:
    cap: ClassVar[Cap] = Cap.HISTORY


@dataclass(frozen=True, slots=True)
class Redo:
    cap: ClassVar[Cap] = Cap.HISTORY


@dataclass(frozen=True, slots=True)
class GoTo:
    event: int
    cap: ClassVar[Cap] = Cap.HISTORY


Command = Union[
    Tick, Step, PauseWorld, Hold, Deliver, DeliverAll, Drop, Partition, Heal, SetNetwork,
    SetDisk, Crash, SetRaftFlags, Restart, PauseNode, SkewClock, Campaign, TransferLeader,
    AddLearner, Promote, RemoveMember, Snapshot, Compact, Defrag, Client, Undo, Redo, GoTo,
]


class CommandRefused(Exception):
    """The command cannot be carried out now (unknown node, node down, nothing to undo).
    Its text says why in a sentence meant for the user."""


@runtime_checkable
class Backend(Protocol):
    """A cluster an interface can watch and steer."""

    @property
    def capabilities(self) -> frozenset[Cap]: ...

    def view(self) -> ClusterView:
        """The cluster as it is now."""
        ...

    def execute(self, command: Command) -> str:
        """Carry out a command; return a one-line explanation of what it did. Raises
        CommandRefused when it cannot."""
        ...

    def client(self, line: str, node: int = 0) -> ClientResult:
        """Send an etcdctl-like request; the answer may still be pending (see the
        request's trace in later views)."""
        ...

    def key_history(self, key: str) -> tuple[KeyRevision, ...]:
        """Every change to `key` still kept (newest first), on the keyspace node."""
        ...

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Call `callback` (with no arguments, never blocking the driver) whenever the
        cluster changed; returns a function that unsubscribes."""
        ...
