"""Shared text for the interface: symbols that carry meaning, term colours, times.

Meaning is never carried by colour alone: every role and every log mark has a symbol (★
leader, ◆ candidate, ✖ down, ...), and colour only helps the eye. The term palette is
mid-tone so it reads on light and dark themes alike.
"""

from __future__ import annotations

from engine.observe import Cap, ClusterView, NodeView

ROLE_SYMBOLS = {
    "leader": "★", "candidate": "◆", "pre-candidate": "◇", "follower": "·",
}
DOWN, PAUSED, REMOVED, LEARNER = "✖", "‖", "⊘", "◌"

MARK_APPLIED = "✓"      # applied to the state machine
MARK_COMMITTED = "●"    # committed, not yet applied
MARK_APPENDED = "○"     # in the log, not known committed
MARK_UNSYNCED = "◌"     # written, waiting for its fsync
MARK_DIVERGED = "≠"     # differs from the leader's entry at this index
MARK_SNAPSHOT = "░"     # compacted into a snapshot

LEGEND = [
    ("★", "leader"), ("◆", "candidate"), ("◇", "pre-candidate (asking for pre-votes)"),
    ("·", "follower"), (DOWN, "down (crashed)"), (PAUSED, "paused (frozen)"),
    (REMOVED, "removed from the cluster"), (LEARNER, "learner (non-voting)"),
    (MARK_APPLIED, "entry applied"), (MARK_COMMITTED, "entry committed, not applied yet"),
    (MARK_APPENDED, "entry in the log, not known committed"),
    (MARK_UNSYNCED, "entry written, waiting for fsync"),
    (MARK_DIVERGED, "entry differs from the leader's: it will be replaced"),
    (MARK_SNAPSHOT, "entries folded into a snapshot"),
    ("■", "message held: it waits for you to deliver or drop it"),
    ("✕", "message dropped, or links cut"),
    ("●─▶", "timeline: a message from the ● lane to the ▶ lane (╌ in flight, ┈ held)"),
]

TERM_COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#e15759", "#76b7b2",
                "#9c755f", "#edc948"]


def term_style(term: int) -> str:
    return TERM_COLOURS[term % len(TERM_COLOURS)]


def role_symbol(node: NodeView) -> str:
    if node.removed:
        return REMOVED
    if not node.up:
        return DOWN
    if node.paused:
        return PAUSED
    return ROLE_SYMBOLS.get(node.role, "?")


def node_title(node: NodeView) -> str:
    """`★ 2 leader`, `✖ 3 down`, `· 1 follower (learner)`."""
    learner = " (learner)" if is_running_learner(node) else ""
    return f"{role_symbol(node)} {node.id} {node.state_text}{learner}"


def picker_label(node: NodeView) -> str:
    """A node's role in a node picker's button: a learner says so instead of follower."""
    return f"{role_symbol(node)} {'learner' if is_running_learner(node) else node.state_text}"


def is_running_learner(node: NodeView) -> bool:
    return node.learner and node.up


def seconds(ms: int | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.3f}s"


def delta(ms: int | None, since: int) -> str:
    return "—" if ms is None else f"+{ms - since}ms"


def short_bytes(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    return f"{count / 1024:.1f} KiB"


Part = tuple[str, str]      # a piece of a line and its style ("" for none)


def labelled(*pairs: tuple[str, object], sep: str = "  ") -> list[Part]:
    """`term 3  vote 2`: labels dim, values plain."""
    parts: list[Part] = []
    for n, (label, value) in enumerate(pairs):
        if n:
            parts.append((sep, ""))
        parts += [(f"{label} ", "dim"), (str(value), "")]
    return parts


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


def log_range(first: int, last: int) -> str:
    """`3‥7`, or `empty` for a log with no entries."""
    return f"{first}‥{last}" if last >= first else "empty"


def reports_internals(view: ClusterView) -> bool:
    """Whether the cluster tells its log entries and the messages its members send: the
    simulator and raftviz's members do (those can hold messages); a real etcd tells each
    member's indexes only."""
    return view.clock != "live" or Cap.HOLD in view.capabilities
