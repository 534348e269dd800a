"""Round trips and every malformed case for the value codecs in engine.wire.codec."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings

import wire_strategies as ws
from engine.raft.types import (
    ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot, SnapshotMetadata,
)
from engine.wire import (
    EncodeError, WireError, decode_conf_state, decode_entry, decode_hard_state,
    decode_message, decode_snapshot, decode_snapshot_metadata, encode_conf_state,
    encode_entry, encode_hard_state, encode_message, encode_snapshot,
    encode_snapshot_metadata,
)
from engine.wire.codec import MESSAGE_TYPE_CODES

ROUND = settings(max_examples=300, deadline=None, derandomize=True, database=None)

CODECS = {
    "entry": (encode_entry, decode_entry),
    "hard_state": (encode_hard_state, decode_hard_state),
    "conf_state": (encode_conf_state, decode_conf_state),
    "snapshot_metadata": (encode_snapshot_metadata, decode_snapshot_metadata),
    "snapshot": (encode_snapshot, decode_snapshot),
    "message": (encode_message, decode_message),
}

SNAP = Snapshot(SnapshotMetadata(7, 3, ConfState(frozenset({1, 2, 3}), frozenset({9}))),
                b"state")
FULL_MESSAGE = Message(
    type=MessageType.APP, to=2, frm=1, term=5, log_term=4, index=10,
    entries=(Entry(4, 11, EntryType.NORMAL, b"put a"), Entry(5, 12, EntryType.CONF_CHANGE)),
    commit=9, snapshot=SNAP, reject=True, reject_hint=8, context=b"ctx",
)
SAMPLES = {
    "entry": Entry(3, 4, EntryType.CONF_CHANGE, b"data"),
    "hard_state": HardState(term=3, vote=2, commit=1),
    "conf_state": ConfState(frozenset({3, 1}), frozenset({5})),
    "snapshot_metadata": SNAP.metadata,
    "snapshot": SNAP,
    "message": FULL_MESSAGE,
}


def one_line_wire_error(fn, data: bytes) -> str:
    with pytest.raises(WireError) as info:
        fn(data)
    msg = str(info.value)
    assert msg and "\n" not in msg
    return msg


# -- round trips ----------------------------------------------------------------------------

@ROUND
@given(ws.entries)
def test_entry_round_trip(e):
    assert decode_entry(encode_entry(e)) == e


@ROUND
@given(ws.hard_states)
def test_hard_state_round_trip(hs):
    assert decode_hard_state(encode_hard_state(hs)) == hs


@ROUND
@given(ws.conf_states)
def test_conf_state_round_trip(cs):
    assert decode_conf_state(encode_conf_state(cs)) == cs


@ROUND
@given(ws.snapshot_metadatas)
def test_snapshot_metadata_round_trip(m):
    assert decode_snapshot_metadata(encode_snapshot_metadata(m)) == m


@ROUND
@given(ws.snapshots)
def test_snapshot_round_trip(s):
    assert decode_snapshot(encode_snapshot(s)) == s


@ROUND
@given(ws.messages)
def test_message_round_trip_and_canonical(m):
    data = encode_message(m)
    back = decode_message(data)
    assert back == m
    assert encode_message(back) == data      # one value, one encoding


def test_encoding_is_deterministic_for_sets():
    a = ConfState(frozenset([5, 1, 3, 2**64 - 1]), frozenset([7, 6]))
    b = ConfState(frozenset([2**64 - 1, 3, 1, 5]), frozenset([6, 7]))
    assert encode_conf_state(a) == encode_conf_state(b)


def test_known_layout_is_big_endian():
    assert encode_hard_state(HardState(1, 2, 3)) == struct.pack(">QQQ", 1, 2, 3)
    assert encode_entry(Entry(1, 2, EntryType.NORMAL, b"x")) == (
        struct.pack(">QQBI", 1, 2, 0, 1) + b"x")


def test_message_type_codes_follow_etcd():
    assert MESSAGE_TYPE_CODES[MessageType.APP] == 3
    assert MESSAGE_TYPE_CODES[MessageType.PRE_VOTE_RESP] == 18
    assert len(set(MESSAGE_TYPE_CODES.values())) == len(MessageType)


# -- malformed input ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(CODECS))
def test_every_truncation_is_refused(kind):
    encode, decode = CODECS[kind]
    data = encode(SAMPLES[kind])
    for cut in range(len(data)):
        msg = one_line_wire_error(decode, data[:cut])
        assert "truncated" in msg


@pytest.mark.parametrize("kind", sorted(CODECS))
def test_trailing_bytes_are_refused(kind):
    encode, decode = CODECS[kind]
    msg = one_line_wire_error(decode, encode(SAMPLES[kind]) + b"\0")
    assert "trailing 1 bytes" in msg


def test_unknown_entry_type():
    data = bytearray(encode_entry(Entry(1, 1)))
    data[16] = 9
    assert "unknown entry type 9" in one_line_wire_error(decode_entry, bytes(data))


def test_unknown_message_type():
    data = bytearray(encode_message(Message(MessageType.APP)))
    data[0] = 200
    assert "unknown message type 200" in one_line_wire_error(decode_message, bytes(data))


def test_unknown_message_flags():
    data = bytearray(encode_message(Message(MessageType.APP)))
    data[57] = 0x04
    assert "unknown message flags" in one_line_wire_error(decode_message, bytes(data))


def test_snapshot_flag_without_snapshot_is_truncated():
    data = bytearray(encode_message(Message(MessageType.SNAP)))
    data[57] = 0x02
    assert "truncated" in one_line_wire_error(decode_message, bytes(data))


@pytest.mark.parametrize("ids", [(2, 1), (3, 3)])
def test_non_canonical_voters_are_refused(ids):
    data = struct.pack(">I2QI", 2, *ids, 0)
    assert "not strictly increasing" in one_line_wire_error(decode_conf_state, data)


def test_huge_counts_are_refused_before_allocating():
    # 4 billion entries declared, 3 bytes present: refused at once, nothing allocated.
    head = encode_message(Message(MessageType.APP))[:-4]
    msg = one_line_wire_error(decode_message, head + struct.pack(">I", 2**32 - 1) + b"abc")
    assert "entries" in msg
    msg = one_line_wire_error(decode_conf_state, struct.pack(">I", 2**32 - 1))
    assert "voters" in msg


def test_huge_blob_length_is_refused():
    data = struct.pack(">QQBI", 1, 1, 0, 2**32 - 1) + b"abc"
    assert "entry data" in one_line_wire_error(decode_entry, data)


def test_empty_input():
    for _, decode in CODECS.values():
        one_line_wire_error(decode, b"")


def test_decoders_accept_bytearray_and_memoryview():
    data = encode_message(FULL_MESSAGE)
    assert decode_message(bytearray(data)) == FULL_MESSAGE
    assert decode_message(memoryview(data)) == FULL_MESSAGE


# -- unencodable values ---------------------------------------------------------------------

@pytest.mark.parametrize("value, encode", [
    (Entry(-1, 1), encode_entry),
    (Entry(2**64, 1), encode_entry),
    (HardState(term=-5), encode_hard_state),
    (ConfState(frozenset({-1})), encode_conf_state),
    (Message(MessageType.APP, reject=1), encode_message),
    (Message("MsgApp"), encode_message),
    (Entry(1, 1, data=None), encode_entry),
])
def test_unencodable_values_raise_encode_error(value, encode):
    with pytest.raises(EncodeError) as info:
        encode(value)
    assert "\n" not in str(info.value)
