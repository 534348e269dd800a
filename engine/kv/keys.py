"""Key ranges as etcd spells them, and the prefix helper clients use to build them.

etcd names a set of keys with a `key` and a `range_end`: an empty range_end is the single
key, `b"\\0"` means every key >= key, anything else the half-open interval [key, range_end).
`KeySpan` is that triple of cases made explicit, so no other module re-interprets `b"\\0"`.
"""

from __future__ import annotations

from dataclasses import dataclass

ALL_KEYS_END = b"\0"  # range_end meaning "every key from `key` on"


def prefix_range_end(prefix: bytes) -> bytes:
    """The range_end that selects every key starting with `prefix` (etcd's
    GetPrefixRangeEnd): the prefix with its last byte below 0xff incremented and the 0xff
    bytes after it dropped. A prefix of only 0xff bytes (or empty) has no such end; then
    every key from the prefix on is meant, so the answer is `b"\\0"`."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return ALL_KEYS_END


@dataclass(frozen=True, slots=True)
class KeySpan:
    """The keys one request covers. `end` is None for a single key, `b""` for no upper
    bound, and otherwise the exclusive upper bound."""
    start: bytes
    end: bytes | None = None

    @classmethod
    def of(cls, key: bytes, range_end: bytes = b"") -> KeySpan:
        if not range_end:
            return cls(key, None)
        if range_end == ALL_KEYS_END:
            return cls(key, b"")
        return cls(key, range_end)

    @classmethod
    def prefix(cls, prefix: bytes) -> KeySpan:
        return cls.of(prefix or ALL_KEYS_END, prefix_range_end(prefix))

    @property
    def is_single(self) -> bool:
        return self.end is None

    def contains(self, key: bytes) -> bool:
        if self.end is None:
            return key == self.start
        return self.start <= key and (not self.end or key < self.end)
