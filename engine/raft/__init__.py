"""The sans-IO Raft core: a pure state machine driven by ticks, messages and proposals.

Public API: `RawNode` with a `Config`, `MemoryStorage` (or any `Storage`), the message and
entry types in `types`, and the text forms in `describe`. See rawnode.py for the host loop.
"""

from .describe import describe_entry, describe_message, describe_ready
from .raft import CAMPAIGN_TRANSFER, Config
from .rawnode import PeerProgress, RawNode, Status
from .storage import Compacted, MemoryStorage, Storage, Unavailable
from .types import (
    NONE, ConfChange, ConfChangeType, ConfState, Entry, EntryType, HardState, Message,
    MessageType, ProposalDropped, Ready, ReadState, Snapshot, SnapshotMetadata, SoftState,
    StateType,
)

__all__ = [
    "CAMPAIGN_TRANSFER", "Compacted", "Config", "ConfChange", "ConfChangeType", "ConfState",
    "Entry", "EntryType", "HardState", "MemoryStorage", "Message", "MessageType", "NONE",
    "PeerProgress", "ProposalDropped", "RawNode", "ReadState", "Ready", "Snapshot",
    "SnapshotMetadata", "SoftState", "StateType", "Status", "Storage", "Unavailable",
    "describe_entry", "describe_message", "describe_ready",
]
