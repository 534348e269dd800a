"""The events of a simulation run, and their text form for traces and reports.

The world's queue holds `(time, seq, event)`: `seq` breaks ties in scheduling order, so
the run is a pure function of the seed. Events are frozen, slotted values; a message in
flight is queued as the `engine.raft.Message` itself (it is already one), so delivering it
costs no extra allocation on the hottest path.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.raft import Message, Ready, describe_message
from engine.raft.describe import describe_entry, describe_hard_state, describe_snapshot


@dataclass(frozen=True, slots=True)
class Tick:
    node: int


@dataclass(frozen=True, slots=True)
class DiskSync:
    """The Ready a node took earlier is now durable: send its messages and apply it."""
    node: int
    incarnation: int


@dataclass(frozen=True, slots=True)
class SnapStatus:
    """The transport reports to a leader how sending a snapshot to `peer` went."""
    node: int
    peer: int
    ok: bool
    incarnation: int


@dataclass(frozen=True, slots=True)
class Restart:
    node: int


@dataclass(frozen=True, slots=True)
class ClientWake:
    client: int


@dataclass(frozen=True, slots=True)
class ClientTimeout:
    client: int
    op: int


@dataclass(frozen=True, slots=True)
class NemesisAct:
    """Time for the fault injector to do something."""


@dataclass(frozen=True, slots=True)
class Revert:
    """Undo fault number `fault` (a partition ends, a disk recovers, ...)."""
    fault: int


@dataclass(frozen=True, slots=True)
class Heal:
    """End of the fault phase: every fault is undone and liveness is measured."""


@dataclass(frozen=True, slots=True)
class LivenessProbe:
    """After healing: propose a probe entry at the leader, or see whether the last one
    committed."""


@dataclass(frozen=True, slots=True)
class LivenessDeadline:
    pass


@dataclass(frozen=True, slots=True)
class Note:
    """Not an event: something the world did that a report should show (a fault, ...)."""
    text: str


@dataclass(frozen=True, slots=True)
class Lost:
    """Not an event: a message the network lost (formatted only if a report needs it)."""
    msg: Message
    reason: str


@dataclass(frozen=True, slots=True)
class Synced:
    """Not an event: a node's Ready became durable, was sent and applied."""
    node: int
    rd: Ready


@dataclass(frozen=True, slots=True)
class ClientOp:
    """Not an event: a client submitted a write or a read at a node."""
    client: int
    key: bytes
    node: int


def describe_ready_line(node: int, rd: Ready) -> str:
    parts = [f"{node} ready done:"]
    if rd.hard_state is not None:
        parts.append(describe_hard_state(rd.hard_state))
    if rd.snapshot is not None:
        parts.append(f"snapshot [{describe_snapshot(rd.snapshot)}]")
    if rd.entries:
        parts.append("entries [" + ", ".join(describe_entry(e) for e in rd.entries) + "]")
    if rd.committed_entries:
        lo, hi = rd.committed_entries[0].index, rd.committed_entries[-1].index
        parts.append(f"applied {lo}..{hi}")
    if rd.messages:
        parts.append(f"sent {len(rd.messages)} msgs")
    for rs in rd.read_states:
        parts.append(f"read {rs.request_ctx.decode(errors='replace')} at {rs.index}")
    return " ".join(parts)


# Small ints folded into the trace fingerprint (enum hashes vary between processes).
EVENT_CODES = {Tick: 1, Message: 2, DiskSync: 3, SnapStatus: 4, Restart: 5, ClientWake: 6,
               ClientTimeout: 7, NemesisAct: 8, Revert: 9, Heal: 10, LivenessDeadline: 11,
               LivenessProbe: 12}


def describe_event(ev: object) -> str:
    if isinstance(ev, Message):
        return "deliver " + describe_message(ev)
    if isinstance(ev, Note):
        return ev.text
    if isinstance(ev, Lost):
        return f"{ev.reason} {describe_message(ev.msg)}"
    if isinstance(ev, Synced):
        return describe_ready_line(ev.node, ev.rd)
    if isinstance(ev, ClientOp):
        kind = "reads" if ev.key.startswith(b"r") else "writes"
        return f"client {ev.client} {kind} {ev.key.decode()} at {ev.node}"
    if isinstance(ev, Tick):
        return f"tick {ev.node}"
    if isinstance(ev, DiskSync):
        return f"disk sync {ev.node}"
    if isinstance(ev, SnapStatus):
        return f"snapshot status {ev.node}->{ev.peer} {'ok' if ev.ok else 'failed'}"
    if isinstance(ev, Restart):
        return f"restart {ev.node}"
    if isinstance(ev, ClientWake):
        return f"client {ev.client} wakes"
    if isinstance(ev, ClientTimeout):
        return f"client {ev.client} op {ev.op} timed out"
    if isinstance(ev, Revert):
        return f"revert fault {ev.fault}"
    return type(ev).__name__.lower()
