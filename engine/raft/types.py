"""The vocabulary of the Raft core: messages, entries, states and what `ready()` hands out.

Everything here is a frozen, slotted dataclass or an enum, so values can be shared between
nodes in the simulator, hashed into traces and compared in tests without defensive copies.
Names follow etcd's raftpb (snake_case); node ids are positive ints, 0 means "none".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

NONE = 0  # no node: no leader known, no vote cast


class StateType(enum.Enum):
    FOLLOWER = "follower"
    CANDIDATE = "candidate"
    LEADER = "leader"
    PRE_CANDIDATE = "pre-candidate"


class MessageType(enum.Enum):
    HUP = "MsgHup"                      # local: start an election
    BEAT = "MsgBeat"                    # local: leader sends heartbeats
    PROP = "MsgProp"                    # a proposal, local or forwarded to the leader
    APP = "MsgApp"
    APP_RESP = "MsgAppResp"
    VOTE = "MsgVote"
    VOTE_RESP = "MsgVoteResp"
    PRE_VOTE = "MsgPreVote"
    PRE_VOTE_RESP = "MsgPreVoteResp"
    SNAP = "MsgSnap"
    HEARTBEAT = "MsgHeartbeat"
    HEARTBEAT_RESP = "MsgHeartbeatResp"
    UNREACHABLE = "MsgUnreachable"      # local: transport could not reach a peer
    SNAP_STATUS = "MsgSnapStatus"       # local: how sending a snapshot went
    CHECK_QUORUM = "MsgCheckQuorum"     # local: leader checks it still hears a quorum
    TRANSFER_LEADER = "MsgTransferLeader"
    TIMEOUT_NOW = "MsgTimeoutNow"
    READ_INDEX = "MsgReadIndex"
    READ_INDEX_RESP = "MsgReadIndexResp"


# Messages that never leave the node that created them.
LOCAL_MESSAGES = frozenset({
    MessageType.HUP, MessageType.BEAT, MessageType.UNREACHABLE,
    MessageType.SNAP_STATUS, MessageType.CHECK_QUORUM,
})

# Responses: a node answers these even at a lower term without being disturbed.
RESPONSE_MESSAGES = frozenset({
    MessageType.APP_RESP, MessageType.VOTE_RESP, MessageType.PRE_VOTE_RESP,
    MessageType.HEARTBEAT_RESP, MessageType.READ_INDEX_RESP,
})


class EntryType(enum.Enum):
    NORMAL = "Normal"
    CONF_CHANGE = "ConfChange"


class ConfChangeType(enum.Enum):
    ADD_NODE = "AddNode"                # add a voter, or promote a learner
    REMOVE_NODE = "RemoveNode"
    ADD_LEARNER = "AddLearnerNode"


@dataclass(frozen=True, slots=True)
class ConfChange:
    type: ConfChangeType
    node_id: int
    context: bytes = b""

    def encode(self) -> bytes:
        return f"{self.type.value} {self.node_id} ".encode() + self.context

    @classmethod
    def decode(cls, data: bytes) -> ConfChange:
        kind, node, context = data.split(b" ", 2)
        return cls(ConfChangeType(kind.decode()), int(node), context)


@dataclass(frozen=True, slots=True)
class ConfState:
    voters: frozenset[int] = frozenset()
    learners: frozenset[int] = frozenset()

    def apply(self, cc: ConfChange) -> ConfState:
        """The configuration after one single-step change."""
        voters, learners = set(self.voters), set(self.learners)
        if cc.type is ConfChangeType.ADD_NODE:
            learners.discard(cc.node_id)
            voters.add(cc.node_id)
        elif cc.type is ConfChangeType.ADD_LEARNER:
            if cc.node_id not in voters:
                learners.add(cc.node_id)
        else:
            voters.discard(cc.node_id)
            learners.discard(cc.node_id)
        return ConfState(frozenset(voters), frozenset(learners))


@dataclass(frozen=True, slots=True)
class Entry:
    term: int
    index: int
    type: EntryType = EntryType.NORMAL
    data: bytes = b""

    def size(self) -> int:
        return len(self.data) + 16


@dataclass(frozen=True, slots=True)
class HardState:
    """What must be on stable storage before any message that depends on it is sent."""
    term: int = 0
    vote: int = NONE
    commit: int = 0


EMPTY_HARD_STATE = HardState()


@dataclass(frozen=True, slots=True)
class SoftState:
    """Volatile state worth showing: who leads and what this node is."""
    lead: int
    raft_state: StateType


@dataclass(frozen=True, slots=True)
class SnapshotMetadata:
    index: int = 0
    term: int = 0
    conf_state: ConfState = ConfState()


@dataclass(frozen=True, slots=True)
class Snapshot:
    metadata: SnapshotMetadata = SnapshotMetadata()
    data: bytes = b""

    def is_empty(self) -> bool:
        return self.metadata.index == 0


EMPTY_SNAPSHOT = Snapshot()


@dataclass(frozen=True, slots=True)
class Message:
    type: MessageType
    to: int = NONE
    frm: int = NONE
    term: int = 0
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    snapshot: Snapshot | None = None
    reject: bool = False
    reject_hint: int = 0
    context: bytes = b""


@dataclass(frozen=True, slots=True)
class ReadState:
    """A linearizable read may be served once the applied index reaches `index`."""
    index: int
    request_ctx: bytes


@dataclass(slots=True)
class Ready:
    """Everything the host must do, in order: persist, send, apply; then `advance()`.

    `hard_state` and `snapshot` are None when unchanged. Messages may only be sent after
    entries and hard state are durable (`must_sync` says an fsync is needed).
    """
    soft_state: SoftState | None = None
    hard_state: HardState | None = None
    read_states: list[ReadState] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    snapshot: Snapshot | None = None
    committed_entries: list[Entry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    must_sync: bool = False

    def contains_updates(self) -> bool:
        return bool(
            self.soft_state is not None or self.hard_state is not None or self.read_states
            or self.entries or self.snapshot is not None or self.committed_entries
            or self.messages
        )


class ProposalDropped(Exception):
    """The proposal was refused: no leader, a leader transfer in progress, or a pending
    configuration change. The caller may retry elsewhere or later."""


class StepError(Exception):
    """The caller stepped something illegal (a local message from the network, ...)."""
