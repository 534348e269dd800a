"""Every control of the interface, once: its key, its words, and what it needs.

The key bindings, the footer, the help screen and the command palette are all built from
`CONTROLS`, so a control cannot exist in one and be missing from another. `cap` names the
driver capability a control needs; without it the control shows as unavailable.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding

from engine.observe import Cap


@dataclass(frozen=True, slots=True)
class Control:
    name: str
    keys: str               # Textual key names, comma-separated
    label: str              # short, for the footer
    title: str              # for the palette and the help screen
    help: str               # one sentence on what it does
    group: str
    cap: Cap | None = None
    footer: bool = False     # among the first ones in the footer


CONTROLS: tuple[Control, ...] = (
    # time
    Control("play", "space", "Play", "Play / pause",
            "Let time run by itself at the chosen speed, or stop it (on a live cluster: "
            "freeze or unfreeze it).", "Time", footer=True),
    Control("tick", "t", "Tick", "Tick",
            "Move time on by one tick (100 ms): every running node ticks once and "
            "messages due meanwhile land.", "Time", Cap.MANUAL_CLOCK, footer=True),
    Control("step", "s", "Step", "Step one event",
            "Run exactly one event: the next message arrival, disk sync or node tick.",
            "Time", Cap.MANUAL_CLOCK, footer=True),
    Control("faster", "plus,equals_sign", "Faster", "Play faster",
            "Raise the play speed.", "Time", Cap.MANUAL_CLOCK),
    Control("slower", "minus", "Slower", "Play slower",
            "Lower the play speed.", "Time", Cap.MANUAL_CLOCK),
    Control("freeze_world", "ctrl+space", "Freeze", "Freeze / unfreeze the world",
            "Stop a running cluster's clocks and messages, or let them run again.",
            "Time", Cap.PAUSE_WORLD),
    # messages
    Control("hold", "h", "Hold", "Hold messages",
            "Toggle hold mode: new messages wait until you deliver or drop each one.",
            "Messages", Cap.HOLD, footer=True),
    Control("deliver", "enter", "Deliver", "Deliver the selected message",
            "Deliver the message chosen in the message list now.", "Messages", Cap.DELIVER),
    Control("drop", "x", "Drop", "Drop the selected message",
            "Lose the message chosen in the message list.", "Messages", Cap.DELIVER,
            footer=True),
    Control("deliver_all", "a", "Deliver all", "Deliver every held message",
            "Deliver all held messages, oldest first.", "Messages", Cap.DELIVER),
    # network and disk
    Control("partition", "p", "Partition", "Partition…",
            "Cut links between a group of nodes and the rest, both ways or one way.",
            "Network", Cap.PARTITION, footer=True),
    Control("heal", "H", "Heal", "Heal the network",
            "Restore every cut link.", "Network", Cap.PARTITION),
    Control("network", "n", "Network", "Network and disk settings…",
            "Set message delay, loss, duplication and ordering, and how long an fsync "
            "takes.", "Network", Cap.NETWORK),
    # nodes
    Control("crash", "c", "Crash", "Crash a node…",
            "Crash a node: keep its disk, lose unsynced writes, or wipe it.", "Nodes",
            Cap.CRASH, footer=True),
    Control("restart", "r", "Restart", "Restart a node…",
            "Start a crashed node again from what its disk holds.", "Nodes", Cap.CRASH,
            footer=True),
    Control("pause_node", "z", "Freeze node", "Freeze / thaw a node…",
            "Freeze a node: it stops ticking and reading messages, like a long GC pause.",
            "Nodes", Cap.PAUSE_NODE),
    Control("skew", "k", "Skew", "Skew a node's clock…",
            "Make one node's clock run fast or slow, so its timeouts fire early or late.",
            "Nodes", Cap.SKEW),
    Control("campaign", "e", "Elect", "Start an election on a node…",
            "Make a node campaign now instead of waiting for its election timeout.",
            "Nodes", Cap.CAMPAIGN),
    Control("transfer", "l", "Transfer", "Transfer leadership…",
            "Ask the leader to hand over to another voter.", "Nodes", Cap.TRANSFER),
    # membership and storage
    Control("add_learner", "L", "Add learner", "Add a learner",
            "Add a new node as a non-voting learner that catches up from the leader.",
            "Membership", Cap.MEMBERSHIP),
    Control("promote", "P", "Promote", "Promote a learner…",
            "Make a learner a voter.", "Membership", Cap.MEMBERSHIP),
    Control("remove", "R", "Remove", "Remove a member…",
            "Remove a node from the cluster's configuration.", "Membership",
            Cap.MEMBERSHIP),
    Control("snapshot", "S", "Snapshot", "Snapshot a node…",
            "Save a node's state as a snapshot and drop the log entries it covers.",
            "Storage", Cap.SNAPSHOT),
    Control("compact", "C", "Compact", "Compact the keyspace…",
            "Drop keyspace history below a revision (through the Raft log).", "Storage",
            Cap.COMPACT),
    Control("defrag", "D", "Defrag", "Defragment a node's database…",
            "Give back the disk space that compaction freed on one node.", "Storage",
            Cap.DEFRAG),
    # history
    Control("undo", "u", "Undo", "Undo",
            "Go back one command; the world is rebuilt exactly as it was.", "History",
            Cap.HISTORY, footer=True),
    Control("redo", "y", "Redo", "Redo",
            "Go forward again after an undo.", "History", Cap.HISTORY),
    Control("goto", "g", "Go to", "Go to event…",
            "Jump to any event of this session, back or forward.", "History", Cap.HISTORY),
    Control("save", "ctrl+s", "Save", "Save the session as a scenario…",
            "Write the seed and every command to a scenario file you can open again.",
            "History", Cap.HISTORY),
    # view
    Control("client", "slash", "Client", "Type a client request",
            "Jump to the client box to send put, get, del, txn, watch, lease, compact.",
            "View", Cap.CLIENT),
    Control("follow", "f", "Follow", "Follow the latest request",
            "Show the newest request's whole path: log, commit, apply, revision, watches.",
            "View"),
    Control("follow_prev", "left_square_bracket", "Prev request", "Follow the previous request",
            "Follow the request before the one shown.", "View"),
    Control("follow_next", "right_square_bracket", "Next request", "Follow the next request",
            "Follow the request after the one shown.", "View"),
    Control("heartbeats", "b", "Heartbeats", "Show / hide heartbeats in the timeline",
            "Heartbeats are most of the traffic; hide them to see the rest (on a live "
            "cluster, in the latest messages sent too).", "View"),
    Control("theme", "ctrl+t", "Theme", "Switch light / dark theme",
            "Toggle between the light and the dark theme.", "View"),
    Control("help", "question_mark,f1", "Help", "Help",
            "Show every control, its key, and what the symbols mean.", "View", footer=True),
)

BY_NAME = {c.name: c for c in CONTROLS}
TABS = (("cluster", "1", "Cluster"), ("messages", "2", "Messages"),
        ("keyspace", "3", "Keyspace"), ("requests", "4", "Requests"))


def bindings() -> list[Binding]:
    """Every control is in the footer: the everyday ones first, then the rest (the footer
    scrolls sideways when they do not all fit)."""
    ordered = sorted(CONTROLS, key=lambda c: not c.footer)
    result = [Binding(c.keys, f"control('{c.name}')", c.label, tooltip=c.help)
              for c in ordered]
    result += [Binding(key, f"show_tab('{tab}')", label, show=False)
               for tab, key, label in TABS]
    result.append(Binding("q", "quit", "Quit", show=False))
    return result


def key_text(control: Control) -> str:
    """The keys as a person reads them: `space`, `?`, `ctrl+s`."""
    names = {"space": "space", "plus": "+", "equals_sign": "=", "minus": "-",
             "question_mark": "?", "slash": "/", "left_square_bracket": "[",
             "right_square_bracket": "]", "enter": "⏎"}
    return " ".join(names.get(k, k) for k in control.keys.split(","))
