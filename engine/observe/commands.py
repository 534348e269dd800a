"""The commands an interface may give a driver; each names the capability it needs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

from .kinds import Cap, CrashMode

__all__ = [
    "Tick", "Step", "PauseWorld", "Hold", "Deliver", "DeliverAll", "Drop", "Partition", "Heal",
    "SetNetwork", "SetDisk", "Crash", "SetRaftFlags", "Restart", "PauseNode", "SkewClock",
    "Campaign", "TransferLeader", "AddLearner", "Promote", "RemoveMember", "Snapshot",
    "Compact", "Defrag", "Client", "Undo", "Redo", "GoTo", "Command",
]


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
