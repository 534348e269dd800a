"""The key index: for every key, which revisions hold its versions (etcd's keyIndex).

A key's life is a list of generations. A generation starts when the key is created, holds
the revision of every put, and ends with the revision of the delete (the tombstone), after
which an empty generation waits for the key to be created again. Reading a key at a
revision is then: find the generation alive at that revision, take its last revision not
after it. `TreeIndex` keeps every key's index in key order, so ranges are a slice.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from sortedcontainers import SortedDict

from .keys import KeySpan


class Revision(NamedTuple):
    """Where a change sits in history: the store revision of its transaction (`main`) and
    its position inside that transaction (`sub`)."""
    main: int
    sub: int = 0


@dataclass(slots=True)
class Generation:
    created: int = 0  # main revision of the put that created the key
    ver: int = 0      # changes made in this generation, compacted ones included
    revs: list[Revision] = field(default_factory=list)

    def last_at_or_before(self, at_rev: int) -> int:
        """Index in `revs` of the last revision with main <= at_rev, or -1."""
        return bisect_right(self.revs, Revision(at_rev, _MAX_SUB)) - 1


_MAX_SUB = 1 << 62  # larger than any sub-revision, for "every change of a main revision"


class KeyIndex:
    """The generations of one key. Only the last generation can be empty."""

    __slots__ = ("key", "generations")

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.generations: list[Generation] = [Generation()]

    def put(self, rev: Revision, created: int | None = None, ver: int | None = None) -> None:
        """Record a put at `rev`. `created` and `ver` are given only when rebuilding from a
        snapshot, whose first kept revision of a generation may not be its first put."""
        gen = self.generations[-1]
        if not gen.revs:
            gen.created = rev.main if created is None else created
            gen.ver = 0 if ver is None else ver - 1
        gen.revs.append(rev)
        gen.ver += 1

    def tombstone(self, rev: Revision) -> None:
        """Record a delete at `rev`: it closes the current generation. Deletes only ever
        hit existing keys; a generation holding nothing but a tombstone is what compaction
        leaves of a delete at the compaction revision, and comes back so from a snapshot."""
        gen = self.generations[-1]
        gen.revs.append(rev)
        gen.ver += 1  # etcd counts the tombstone too
        self.generations.append(Generation())

    def get(self, at_rev: int) -> Revision | None:
        """The revision holding the key's value as of `at_rev`, or None if it did not exist."""
        for number in range(len(self.generations) - 1, -1, -1):
            gen = self.generations[number]
            if not gen.revs:
                continue
            closed = number != len(self.generations) - 1
            if closed and gen.revs[-1].main <= at_rev:
                return None  # deleted at or before at_rev, not re-created since
            if gen.revs[0].main <= at_rev:
                return gen.revs[gen.last_at_or_before(at_rev)]
        return None

    def live_generation(self) -> Generation | None:
        """The current generation if the key exists now."""
        gen = self.generations[-1]
        return gen if gen.revs else None

    def compact(self, at_rev: int) -> list[Revision]:
        """Forget what no read or watch from `at_rev` on can see; return the dropped revisions.

        Kept: every revision after at_rev, and in each generation still alive at at_rev the
        last revision at or before it (the value a read at at_rev sees). A generation whose
        tombstone is before at_rev is dropped whole. One deliberate difference from etcd: a
        tombstone exactly at at_rev is kept (alone, as a generation of its own) until a later
        compaction; etcd drops it, and a watcher replaying from at_rev then misses the delete.
        """
        dropped: list[Revision] = []
        kept: list[Generation] = []
        last = len(self.generations) - 1
        for number, gen in enumerate(self.generations):
            closed = number != last
            if closed and gen.revs[-1].main < at_rev:
                dropped.extend(gen.revs)
                continue
            visible = gen.last_at_or_before(at_rev)
            if visible > 0:
                dropped.extend(gen.revs[:visible])
                gen.revs = gen.revs[visible:]
            kept.append(gen)
        self.generations = kept
        return dropped

    def is_empty(self) -> bool:
        return len(self.generations) == 1 and not self.generations[0].revs


class TreeIndex:
    """Every key's `KeyIndex`, ordered by key."""

    __slots__ = ("_keys",)

    def __init__(self) -> None:
        self._keys: SortedDict = SortedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def key_index(self, key: bytes) -> KeyIndex:
        """The index of `key`, created empty if the key was never seen."""
        ki = self._keys.get(key)
        if ki is None:
            ki = self._keys[key] = KeyIndex(key)
        return ki

    def get(self, key: bytes, at_rev: int) -> Revision | None:
        ki = self._keys.get(key)
        return None if ki is None else ki.get(at_rev)

    def indexes(self, span: KeySpan) -> Iterator[KeyIndex]:
        """Key indexes of the keys in `span`, in key order."""
        if span.is_single:
            ki = self._keys.get(span.start)
            if ki is not None:
                yield ki
            return
        keys = self._keys.irange(span.start, span.end or None, inclusive=(True, False))
        for key in keys:
            yield self._keys[key]

    def revisions(self, span: KeySpan, at_rev: int) -> list[Revision]:
        """For each key in `span` that existed at `at_rev`, in key order, its revision then."""
        found = (ki.get(at_rev) for ki in self.indexes(span))
        return [rev for rev in found if rev is not None]

    def compact(self, at_rev: int) -> list[Revision]:
        dropped: list[Revision] = []
        emptied = []
        for key, ki in self._keys.items():
            dropped.extend(ki.compact(at_rev))
            if ki.is_empty():
                emptied.append(key)
        for key in emptied:
            del self._keys[key]
        return dropped
