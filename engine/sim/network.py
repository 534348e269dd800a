"""The simulated network: who can reach whom, how late, and what gets lost or doubled.

Every message draws its own latency from the run's spread, which is what reorders
messages. Faults are kept by id (a partition, a one-way cut, a node whose messages arrive
late) and the link tables are rebuilt from the active ones whenever one starts or ends,
so overlapping faults undo cleanly. `arrivals()` is on the hot path: table lookups and at
most four draws from the network's own random stream.
"""

from __future__ import annotations

import random

from engine.raft import Message

from .params import SimParams


class Network:
    def __init__(self, params: SimParams, rng: random.Random) -> None:
        n = params.nodes
        self.size = n
        self.rng = rng
        self.lo, self.span = params.latency_lo, params.latency_span
        self.drop, self.dup = params.drop_rate, params.dup_rate
        self.cuts: dict[int, frozenset[tuple[int, int]]] = {}   # fault id -> cut links
        self.delays: dict[int, tuple[int, int]] = {}            # fault id -> (node, extra)
        self.cut = [[False] * (n + 1) for _ in range(n + 1)]    # cut[frm][to]
        self.extra = [0] * (n + 1)                              # extra latency per sender
        self.dropped = 0
        self.duplicated = 0

    # -- the hot path --

    def arrivals(self, m: Message, now: int) -> tuple[int, ...] | None:
        """When `m` arrives: () if lost, two times if duplicated, None if the link is cut."""
        if self.cut[m.frm][m.to]:
            return None
        r = self.rng.random
        if self.drop and r() < self.drop:
            self.dropped += 1
            return ()
        base = now + self.lo + self.extra[m.frm]
        first = base + int(r() * self.span)
        if self.dup and r() < self.dup:
            self.duplicated += 1
            return first, base + int(r() * self.span * 2)
        return (first,)

    # -- faults --

    def cut_links(self, fault: int, links: frozenset[tuple[int, int]]) -> None:
        self.cuts[fault] = links
        self._rebuild()

    def delay_node(self, fault: int, node: int, extra: int) -> None:
        self.delays[fault] = (node, extra)
        self._rebuild()

    def end_fault(self, fault: int) -> None:
        self.cuts.pop(fault, None)
        self.delays.pop(fault, None)
        self._rebuild()

    def heal(self, reliable: bool = False) -> None:
        """End every cut and delay; `reliable` also stops loss and duplication."""
        if reliable:
            self.drop = self.dup = 0.0
        self.cuts.clear()
        self.delays.clear()
        self._rebuild()

    def _rebuild(self) -> None:
        n = self.size
        self.cut = [[False] * (n + 1) for _ in range(n + 1)]
        for links in self.cuts.values():
            for a, b in links:
                self.cut[a][b] = True
        self.extra = [0] * (n + 1)
        for node, extra in self.delays.values():
            self.extra[node] = max(self.extra[node], extra)

    def describe(self) -> str:
        links = sorted({link for links in self.cuts.values() for link in links})
        slow = sorted(self.delays.values())
        return f"cut {links or 'none'}, late senders {slow or 'none'}"


def split(ids: list[int], groups: list[list[int]]) -> frozenset[tuple[int, int]]:
    """Links (both ways) between nodes of different groups."""
    side = {i: g for g, members in enumerate(groups) for i in members}
    return frozenset((a, b) for a in ids for b in ids
                     if a != b and side.get(a, -1) != side.get(b, -2))


def isolate(ids: list[int], node: int, from_peers: list[int] | None = None,
            one_way: bool = False) -> frozenset[tuple[int, int]]:
    """Links between `node` and `from_peers` (default: everyone); only outgoing if one_way."""
    peers = [p for p in (from_peers if from_peers is not None else ids) if p != node]
    links = {(node, p) for p in peers}
    if not one_way:
        links |= {(p, node) for p in peers}
    return frozenset(links)
