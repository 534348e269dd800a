"""The one text form of messages, entries and states, after etcd raft's Describe*.

Tests, the simulator's trace and the UI all print Raft traffic through these functions,
so a line seen in a failing check reads the same as the line on screen.
"""

from __future__ import annotations

from typing import Callable

from .types import Entry, EntryType, HardState, Message, Ready, Snapshot

DataFormatter = Callable[[bytes], str]


def format_data(data: bytes) -> str:
    """Printable data as is, anything else as hex; long payloads are cut."""
    try:
        text = data.decode()
        shown = repr(text) if text.isprintable() else data.hex()
    except UnicodeDecodeError:
        shown = data.hex()
    return shown if len(shown) <= 40 else shown[:37] + "..."


def describe_entry(e: Entry, fmt: DataFormatter = format_data) -> str:
    kind = "EntryConfChange" if e.type is EntryType.CONF_CHANGE else "EntryNormal"
    text = f"{e.term}/{e.index} {kind}"
    return f"{text} {fmt(e.data)}" if e.data else text


def describe_snapshot(s: Snapshot) -> str:
    m = s.metadata
    voters = ",".join(str(v) for v in sorted(m.conf_state.voters))
    text = f"Index:{m.index} Term:{m.term} Voters:[{voters}]"
    if m.conf_state.learners:
        text += " Learners:[" + ",".join(str(v) for v in sorted(m.conf_state.learners)) + "]"
    return text


def describe_message(m: Message, fmt: DataFormatter = format_data) -> str:
    parts = [f"{m.frm}->{m.to} {m.type.value} Term:{m.term} Log:{m.log_term}/{m.index}"]
    if m.reject:
        parts.append(f"Rejected (Hint: {m.reject_hint})")
    if m.commit:
        parts.append(f"Commit:{m.commit}")
    if m.entries:
        parts.append("Entries:[" + ", ".join(describe_entry(e, fmt) for e in m.entries) + "]")
    if m.snapshot is not None and not m.snapshot.is_empty():
        parts.append(f"Snapshot: {describe_snapshot(m.snapshot)}")
    if m.context:
        parts.append(f"Context:{fmt(m.context)}")
    return " ".join(parts)


def describe_hard_state(hs: HardState) -> str:
    return f"Term:{hs.term} Vote:{hs.vote} Commit:{hs.commit}"


def describe_ready(rd: Ready, fmt: DataFormatter = format_data) -> str:
    lines: list[str] = []
    if rd.soft_state is not None:
        lines.append(f"Lead:{rd.soft_state.lead} State:{rd.soft_state.raft_state.value}")
    if rd.hard_state is not None:
        lines.append("HardState " + describe_hard_state(rd.hard_state))
    for rs in rd.read_states:
        lines.append(f"ReadState Index:{rs.index} Ctx:{fmt(rs.request_ctx)}")
    if rd.entries:
        lines.append("Entries:")
        lines += ["  " + describe_entry(e, fmt) for e in rd.entries]
    if rd.snapshot is not None:
        lines.append("Snapshot " + describe_snapshot(rd.snapshot))
    if rd.committed_entries:
        lines.append("CommittedEntries:")
        lines += ["  " + describe_entry(e, fmt) for e in rd.committed_entries]
    if rd.messages:
        lines.append("Messages:")
        lines += ["  " + describe_message(m, fmt) for m in rd.messages]
    return "\n".join(lines)
