"""The enums shared by views and commands: what a driver can do, a message's fate, the
ways a node can crash."""

from __future__ import annotations

import enum

__all__ = [
    "Cap", "MessageStatus", "CrashMode",
]


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
    SENT = "sent"            # a live member's gate let it out; when it lands is not known


class CrashMode(enum.Enum):
    KEEP_DISK = "keep-disk"          # the process dies; everything it wrote survives
    LOSE_UNSYNCED = "lose-unsynced"  # power loss: writes still waiting for fsync are gone
    TORN = "torn"                    # power loss mid-write: the last WAL record is half
                                     # written, and cut off (checksum) at restart
    WIPE = "wipe"                    # the machine is replaced: the disk is blank
