"""Binary encodings of the Raft vocabulary: Entry, HardState, ConfState, SnapshotMetadata,
Snapshot and Message.

Layout rules (format version 1, carried by the container: a peer frame, a WAL segment
header, a snapshot file header):

- all integers are unsigned and big-endian (network order): u8, u32, u64;
- a byte string is `u32 length` followed by the bytes;
- enums are small integers from fixed tables below (etcd's raftpb numbers), never Python
  enum order, so reordering `types.py` can't silently change the format;
- sets (voters, learners) are written sorted, so one value has exactly one encoding.

Decoders are strict: every length is checked against the bytes that are left *before* any
slice or allocation, unknown enum values and flag bits are refused, and the whole input
must be consumed. Anything wrong raises `WireError` with a one-line message.
"""

from __future__ import annotations

import struct
from typing import Callable, TypeVar

from engine.raft.types import (
    ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot, SnapshotMetadata,
)

from .errors import EncodeError, WireError

T = TypeVar("T")

_U8 = struct.Struct(">B")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_ENTRY_HEAD = struct.Struct(">QQB")          # term, index, type
_HARD_STATE = struct.Struct(">QQQ")          # term, vote, commit
_META_HEAD = struct.Struct(">QQ")            # index, term
_MSG_HEAD = struct.Struct(">BQQQQQQQB")      # type, to, frm, term, log_term, index,
                                             # commit, reject_hint, flags

ENTRY_MIN_SIZE = _ENTRY_HEAD.size + _U32.size
_FLAG_REJECT = 0x01
_FLAG_SNAPSHOT = 0x02
_KNOWN_FLAGS = _FLAG_REJECT | _FLAG_SNAPSHOT

# etcd's raftpb numbering, so a hex dump reads like etcd's.
MESSAGE_TYPE_CODES: dict[MessageType, int] = {
    MessageType.HUP: 0, MessageType.BEAT: 1, MessageType.PROP: 2, MessageType.APP: 3,
    MessageType.APP_RESP: 4, MessageType.VOTE: 5, MessageType.VOTE_RESP: 6,
    MessageType.SNAP: 7, MessageType.HEARTBEAT: 8, MessageType.HEARTBEAT_RESP: 9,
    MessageType.UNREACHABLE: 10, MessageType.SNAP_STATUS: 11,
    MessageType.CHECK_QUORUM: 12, MessageType.TRANSFER_LEADER: 13,
    MessageType.TIMEOUT_NOW: 14, MessageType.READ_INDEX: 15,
    MessageType.READ_INDEX_RESP: 16, MessageType.PRE_VOTE: 17,
    MessageType.PRE_VOTE_RESP: 18,
}
ENTRY_TYPE_CODES: dict[EntryType, int] = {EntryType.NORMAL: 0, EntryType.CONF_CHANGE: 1}

_MESSAGE_TYPES = {code: t for t, code in MESSAGE_TYPE_CODES.items()}
_ENTRY_TYPES = {code: t for t, code in ENTRY_TYPE_CODES.items()}
# A new enum member without a code must fail loudly at import, not at the first send.
assert set(MESSAGE_TYPE_CODES) == set(MessageType), "MessageType without a wire code"
assert set(ENTRY_TYPE_CODES) == set(EntryType), "EntryType without a wire code"


# -- reading --------------------------------------------------------------------------------

class Reader:
    """A cursor over a byte string that refuses to read past its end."""

    __slots__ = ("buf", "pos", "what")

    def __init__(self, buf: bytes, what: str) -> None:
        self.buf = bytes(buf)
        self.pos = 0
        self.what = what

    def left(self) -> int:
        return len(self.buf) - self.pos

    def need(self, n: int, field: str) -> None:
        if n > self.left():
            raise WireError(
                f"truncated {self.what}: {field} needs {n} bytes at offset {self.pos},"
                f" {self.left()} left"
            )

    def unpack(self, st: struct.Struct, field: str) -> tuple:
        self.need(st.size, field)
        values = st.unpack_from(self.buf, self.pos)
        self.pos += st.size
        return values

    def u8(self, field: str) -> int:
        return self.unpack(_U8, field)[0]

    def u32(self, field: str) -> int:
        return self.unpack(_U32, field)[0]

    def u64(self, field: str) -> int:
        return self.unpack(_U64, field)[0]

    def raw(self, n: int, field: str) -> bytes:
        self.need(n, field)
        data = self.buf[self.pos:self.pos + n]
        self.pos += n
        return data

    def blob(self, field: str) -> bytes:
        """A u32-length-prefixed byte string; the length is checked before slicing."""
        return self.raw(self.u32(f"{field} length"), field)

    def count(self, min_item_size: int, field: str) -> int:
        """A u32 item count, refused up front if the items could not possibly fit."""
        n = self.u32(f"{field} count")
        if n * min_item_size > self.left():
            raise WireError(
                f"truncated {self.what}: {n} {field} need at least {n * min_item_size}"
                f" bytes, {self.left()} left"
            )
        return n

    def finish(self) -> None:
        if self.left():
            raise WireError(f"trailing {self.left()} bytes after {self.what}")


def decode_whole(data: bytes, what: str, read: Callable[[Reader], T]) -> T:
    """Decode exactly one value from `data`; leftover bytes are an error."""
    r = Reader(data, what)
    value = read(r)
    r.finish()
    return value


def _read_entry(r: Reader) -> Entry:
    term, index, code = r.unpack(_ENTRY_HEAD, "entry header")
    etype = _ENTRY_TYPES.get(code)
    if etype is None:
        raise WireError(f"unknown entry type {code} in {r.what} at offset {r.pos - 1}")
    return Entry(term=term, index=index, type=etype, data=r.blob("entry data"))


def _read_hard_state(r: Reader) -> HardState:
    term, vote, commit = r.unpack(_HARD_STATE, "hard state")
    return HardState(term=term, vote=vote, commit=commit)


def _read_ids(r: Reader, field: str) -> frozenset[int]:
    n = r.count(_U64.size, field)
    ids = struct.unpack_from(f">{n}Q", r.buf, r.pos)
    r.pos += n * _U64.size
    # Only the sorted, duplicate-free form is canonical; anything else was not written by us.
    if any(a >= b for a, b in zip(ids, ids[1:])):
        raise WireError(f"{field} in {r.what} are not strictly increasing")
    return frozenset(ids)


def _read_conf_state(r: Reader) -> ConfState:
    voters = _read_ids(r, "voters")
    learners = _read_ids(r, "learners")
    return ConfState(voters=voters, learners=learners)


def _read_snapshot_metadata(r: Reader) -> SnapshotMetadata:
    index, term = r.unpack(_META_HEAD, "snapshot metadata")
    return SnapshotMetadata(index=index, term=term, conf_state=_read_conf_state(r))


def _read_snapshot(r: Reader) -> Snapshot:
    metadata = _read_snapshot_metadata(r)
    return Snapshot(metadata=metadata, data=r.blob("snapshot data"))


def _read_message(r: Reader) -> Message:
    code, to, frm, term, log_term, index, commit, hint, flags = r.unpack(
        _MSG_HEAD, "message header")
    mtype = _MESSAGE_TYPES.get(code)
    if mtype is None:
        raise WireError(f"unknown message type {code} in {r.what}")
    if flags & ~_KNOWN_FLAGS:
        raise WireError(f"unknown message flags {flags:#04x} in {r.what}")
    context = r.blob("message context")
    entries = tuple(_read_entry(r) for _ in range(r.count(ENTRY_MIN_SIZE, "entries")))
    snapshot = _read_snapshot(r) if flags & _FLAG_SNAPSHOT else None
    return Message(
        type=mtype, to=to, frm=frm, term=term, log_term=log_term, index=index,
        entries=entries, commit=commit, snapshot=snapshot,
        reject=bool(flags & _FLAG_REJECT), reject_hint=hint, context=context,
    )


# -- writing --------------------------------------------------------------------------------

def _put_blob(out: bytearray, data: bytes) -> None:
    out += _U32.pack(len(data))
    out += data


def _put_entry(out: bytearray, e: Entry) -> None:
    out += _ENTRY_HEAD.pack(e.term, e.index, ENTRY_TYPE_CODES[e.type])
    _put_blob(out, bytes(e.data))


def _put_hard_state(out: bytearray, hs: HardState) -> None:
    out += _HARD_STATE.pack(hs.term, hs.vote, hs.commit)


def _put_ids(out: bytearray, ids: frozenset[int]) -> None:
    ordered = sorted(ids)
    out += _U32.pack(len(ordered))
    out += struct.pack(f">{len(ordered)}Q", *ordered)


def _put_conf_state(out: bytearray, cs: ConfState) -> None:
    _put_ids(out, cs.voters)
    _put_ids(out, cs.learners)


def _put_snapshot_metadata(out: bytearray, m: SnapshotMetadata) -> None:
    out += _META_HEAD.pack(m.index, m.term)
    _put_conf_state(out, m.conf_state)


def _put_snapshot(out: bytearray, s: Snapshot) -> None:
    _put_snapshot_metadata(out, s.metadata)
    _put_blob(out, bytes(s.data))


def _put_message(out: bytearray, m: Message) -> None:
    if not isinstance(m.reject, bool):
        raise TypeError(f"reject must be a bool, not {type(m.reject).__name__}")
    flags = _FLAG_REJECT if m.reject else 0
    if m.snapshot is not None:
        flags |= _FLAG_SNAPSHOT
    out += _MSG_HEAD.pack(
        MESSAGE_TYPE_CODES[m.type], m.to, m.frm, m.term, m.log_term, m.index, m.commit,
        m.reject_hint, flags,
    )
    _put_blob(out, bytes(m.context))
    out += _U32.pack(len(m.entries))
    for e in m.entries:
        _put_entry(out, e)
    if m.snapshot is not None:
        _put_snapshot(out, m.snapshot)


def encode_with(put: Callable[[bytearray, T], None], value: T, what: str) -> bytes:
    """Run a writer, turning range and type errors into one `EncodeError`."""
    out = bytearray()
    try:
        put(out, value)
    except (struct.error, KeyError, TypeError, AttributeError) as exc:
        raise EncodeError(f"cannot encode {what}: {exc}") from None
    return bytes(out)


# -- public API -----------------------------------------------------------------------------

def encode_entry(e: Entry) -> bytes:
    return encode_with(_put_entry, e, "entry")


def decode_entry(data: bytes) -> Entry:
    return decode_whole(data, "entry", _read_entry)


def encode_hard_state(hs: HardState) -> bytes:
    return encode_with(_put_hard_state, hs, "hard state")


def decode_hard_state(data: bytes) -> HardState:
    return decode_whole(data, "hard state", _read_hard_state)


def encode_conf_state(cs: ConfState) -> bytes:
    return encode_with(_put_conf_state, cs, "conf state")


def decode_conf_state(data: bytes) -> ConfState:
    return decode_whole(data, "conf state", _read_conf_state)


def encode_snapshot_metadata(m: SnapshotMetadata) -> bytes:
    return encode_with(_put_snapshot_metadata, m, "snapshot metadata")


def decode_snapshot_metadata(data: bytes) -> SnapshotMetadata:
    return decode_whole(data, "snapshot metadata", _read_snapshot_metadata)


def encode_snapshot(s: Snapshot) -> bytes:
    return encode_with(_put_snapshot, s, "snapshot")


def decode_snapshot(data: bytes) -> Snapshot:
    return decode_whole(data, "snapshot", _read_snapshot)


def encode_message(m: Message) -> bytes:
    return encode_with(_put_message, m, "message")


def decode_message(data: bytes) -> Message:
    return decode_whole(data, "message", _read_message)
