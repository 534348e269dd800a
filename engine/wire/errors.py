"""The two ways encoding can fail, split as h11 does.

`WireError` means the bytes we were handed (from a peer, from disk) are malformed: the
caller should drop the connection or refuse the file. `EncodeError` means *we* asked for
something that has no encoding (a negative index, a frame over the limit): a bug on our side.
"""

from __future__ import annotations


class WireError(ValueError):
    """Malformed input: truncated, oversized, unknown version or enum, trailing bytes, bad
    CRC. The message is one line naming what was wrong."""


class EncodeError(ValueError):
    """A value that cannot be encoded (out of range integer, oversized frame)."""
