"""One simulated node: a RawNode, its disk, and a small state machine, with crash/restart.

The disk is a MemoryStorage holding exactly what was synced; a Ready's writes reach it in
`persist()`, so a driver that models a slow disk can crash a node between taking a Ready and
persisting it, losing those unsynced writes as a real process would, or tearing them
(`persist_torn()`: the power failed halfway through the write). The state machine is a
hash chain over applied entries (plus an optional application, such as the keyspace, fed
the same entries): two nodes that applied the same sequence have the same digest.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from typing import Callable, Protocol

from engine.raft import (
    ConfChange, Config, ConfState, Entry, EntryType, HardState, MemoryStorage, Message,
    RawNode, ReadState, Ready, Snapshot,
)

GENESIS = b"\0" * 16


def chain(digest: bytes, e: Entry) -> bytes:
    h = hashlib.blake2b(digest, digest_size=16)
    h.update(f"{e.index}/{e.term}/{e.type.value}/".encode())
    h.update(e.data)
    return h.digest()


class Application(Protocol):
    """What a node runs on top of Raft (the keyspace, in the full simulator)."""
    def apply(self, entry: Entry) -> None: ...
    def snapshot(self) -> bytes: ...
    def restore(self, data: bytes) -> None: ...


def can_tear(rd: Ready, disk: MemoryStorage) -> bool:
    """Whether a crash may leave part of `rd`'s write on `disk`: a write of entries with no
    snapshot, in the term the disk's hard state already holds (a torn write never reaches
    its hard state, and a log must not hold entries of a term its hard state lacks)."""
    return bool(rd.entries) and rd.snapshot is None and \
        (rd.hard_state is None or rd.hard_state.term == disk.hard_state.term)


@dataclass
class NodeParams:
    election_tick: int = 10
    heartbeat_tick: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    max_size_per_msg: int = 1 << 20
    max_inflight_msgs: int = 256
    snapshot_count: int = 0           # take a snapshot every N applied entries (0: never)
    catchup_entries: int = 5          # entries kept behind a snapshot for slow followers
    unsafe_commit_old_terms: bool = False


@dataclass
class Applied:
    index: int
    term: int
    digest: bytes


@dataclass
class SimNode:
    id: int
    peers: tuple[int, ...]
    params: NodeParams
    seed: int
    learners: tuple[int, ...] = ()
    app_factory: Callable[[], Application] | None = None
    disk: MemoryStorage = field(default_factory=MemoryStorage)
    on_apply: Callable[[int, Applied], None] | None = None
    up: bool = False

    def __post_init__(self) -> None:
        self.restarts = 0
        self.start()

    # -- lifecycle --

    def start(self) -> None:
        """Boot (or reboot) from what the disk holds."""
        snap = self.disk.snapshot()
        self.digest, self.applied = GENESIS, 0
        self.app = self.app_factory() if self.app_factory else None
        if not snap.is_empty():
            self._restore_state_machine(snap)
        rng = random.Random(self.seed * 7919 + self.restarts)
        p = self.params
        self.rawnode = RawNode(Config(
            id=self.id, storage=self.disk, rng=rng, peers=self.peers, learners=self.learners,
            election_tick=p.election_tick, heartbeat_tick=p.heartbeat_tick,
            applied=self.applied, max_size_per_msg=p.max_size_per_msg,
            max_inflight_msgs=p.max_inflight_msgs, check_quorum=p.check_quorum,
            pre_vote=p.pre_vote, unsafe_commit_old_terms=p.unsafe_commit_old_terms,
        ))
        self.read_states: list[ReadState] = []
        self.up = True

    def crash(self) -> None:
        """Stop at once: everything not yet persisted to `disk` is lost."""
        self.up = False
        self.restarts += 1

    def wipe(self) -> None:
        """Lose the disk too (a node replaced by a blank machine)."""
        self.crash()
        self.disk = MemoryStorage()

    # -- the Ready loop, split so a driver can put time between its parts --

    def take_ready(self) -> Ready | None:
        if not self.up or not self.rawnode.has_ready():
            return None
        return self.rawnode.ready()

    def persist(self, rd: Ready) -> None:
        if rd.snapshot is not None:
            self.disk.apply_snapshot(rd.snapshot)
        self.disk.append(rd.entries)
        if rd.hard_state is not None:
            self.disk.set_hard_state(rd.hard_state)

    def persist_torn(self, rd: Ready, kept: int) -> None:
        """The power failed while `rd` was being written: its first `kept` entries reached
        the disk whole; the record being written then was torn, and the WAL's checksum
        cuts it off at restart; nothing after it (the hard state comes last) was written.
        Only for a write that `can_tear`."""
        assert can_tear(rd, self.disk) and 0 <= kept <= len(rd.entries)
        self.disk.append(list(rd.entries[:kept]))

    def apply(self, rd: Ready) -> None:
        """Apply the snapshot and committed entries, then advance the RawNode."""
        if rd.snapshot is not None and rd.snapshot.metadata.index > self.applied:
            self._restore_state_machine(rd.snapshot)
        for e in rd.committed_entries:
            if e.index <= self.applied:
                continue
            self._apply_entry(e)
        self.read_states.extend(rd.read_states)
        self.rawnode.advance(rd)
        self._maybe_snapshot()

    def handle_ready(self) -> list[Message]:
        """Persist, apply and advance in one go; returns the messages to send."""
        rd = self.take_ready()
        if rd is None:
            return []
        self.persist(rd)
        self.apply(rd)
        return rd.messages

    # -- state machine --

    def _apply_entry(self, e: Entry) -> None:
        self.digest = chain(self.digest, e)
        self.applied = e.index
        if e.type is EntryType.CONF_CHANGE:
            self.rawnode.apply_conf_change(ConfChange.decode(e.data))
        elif self.app is not None:
            self.app.apply(e)
        if self.on_apply is not None:
            self.on_apply(self.id, Applied(e.index, e.term, self.digest))

    def _restore_state_machine(self, snap: Snapshot) -> None:
        digest, app_data = snap.data[:16], snap.data[16:]
        self.digest, self.applied = digest, snap.metadata.index
        if self.app is not None:
            self.app.restore(app_data)
        if self.on_apply is not None:
            self.on_apply(self.id, Applied(snap.metadata.index, snap.metadata.term, digest))

    def _maybe_snapshot(self) -> None:
        p = self.params
        first = self.disk.snapshot().metadata.index
        if not p.snapshot_count or self.applied - first < p.snapshot_count:
            return
        if self.applied > self.disk.last_index():
            return   # applied entries not yet on disk cannot be covered by a snapshot
        self.snapshot_now()

    def snapshot_now(self) -> None:
        """Snapshot at the applied index and compact the log behind it."""
        if self.applied <= self.disk.snapshot().metadata.index:
            return
        data = self.digest + (self.app.snapshot() if self.app is not None else b"")
        self.disk.create_snapshot(self.applied, self.conf_state(), data)
        keep_from = self.applied - self.params.catchup_entries
        if keep_from > self.disk.first_index():
            self.disk.compact(keep_from)

    # -- views --

    def conf_state(self) -> ConfState:
        return self.rawnode.status().conf_state

    def hard_state(self) -> HardState:
        return self.rawnode.raft.hard_state()
