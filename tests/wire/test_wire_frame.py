"""Peer frames and the incremental FrameDecoder."""

from __future__ import annotations

import struct
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import wire_strategies as ws
from engine.raft.types import Entry, Message, MessageType
from engine.wire import (
    FRAME_OVERHEAD, WIRE_VERSION, EncodeError, FrameDecoder, WireError, decode_frame,
    encode_frame, encode_message,
)

ROUND = settings(max_examples=200, deadline=None, derandomize=True, database=None)
MSGS = [
    Message(MessageType.HEARTBEAT, to=2, frm=1, term=3, commit=4),
    Message(MessageType.APP, to=3, frm=1, term=3, entries=(Entry(3, 5, data=b"x" * 100),)),
    Message(MessageType.VOTE_RESP, to=1, frm=2, term=4, reject=True),
]


def frame_error(data: bytes, **kw) -> str:
    with pytest.raises(WireError) as info:
        decode_frame(data, **kw)
    assert "\n" not in str(info.value)
    return str(info.value)


def test_frame_layout():
    payload = encode_message(MSGS[0])
    frame = encode_frame(MSGS[0])
    head = struct.pack(">BI", WIRE_VERSION, len(payload))
    assert frame == head + payload + struct.pack(">I", zlib.crc32(head + payload))
    assert len(frame) == len(payload) + FRAME_OVERHEAD


@ROUND
@given(ws.messages)
def test_frame_round_trip(m):
    assert decode_frame(encode_frame(m)) == m


def test_every_truncation_and_trailing_byte():
    frame = encode_frame(MSGS[1])
    for cut in range(len(frame)):
        assert "truncated" in frame_error(frame[:cut])
    assert "trailing 1 bytes" in frame_error(frame + b"\0")


def test_unknown_version():
    frame = bytearray(encode_frame(MSGS[0]))
    frame[0] = 2
    assert "unknown frame version 2" in frame_error(bytes(frame))


def test_every_bit_flip_is_caught():
    frame = encode_frame(MSGS[1])
    for bit in range(len(frame) * 8):
        bad = bytearray(frame)
        bad[bit // 8] ^= 1 << (bit % 8)
        frame_error(bytes(bad))


def test_bad_crc_names_both_values():
    frame = bytearray(encode_frame(MSGS[0]))
    frame[-1] ^= 0xFF
    assert "frame crc mismatch" in frame_error(bytes(frame))


def test_oversized_frames():
    big = Message(MessageType.APP, entries=(Entry(1, 1, data=b"x" * 1000),))
    with pytest.raises(EncodeError):
        encode_frame(big, max_frame_size=500)
    frame = encode_frame(big)
    assert "oversized frame" in frame_error(frame, max_frame_size=500)
    # The header alone is enough to refuse it.
    with pytest.raises(WireError, match="oversized"):
        FrameDecoder(max_frame_size=500).feed(frame[:5])


def test_crc_valid_frame_with_garbage_payload():
    payload = b"\xff" * 60
    head = struct.pack(">BI", WIRE_VERSION, len(payload))
    frame = head + payload + struct.pack(">I", zlib.crc32(head + payload))
    assert "unknown message type" in frame_error(frame)


# -- FrameDecoder ---------------------------------------------------------------------------

def stream() -> bytes:
    return b"".join(encode_frame(m) for m in MSGS)


def test_decoder_byte_by_byte():
    dec = FrameDecoder()
    out = []
    for i, b in enumerate(stream()):
        out += dec.feed(bytes([b]))
    assert out == MSGS
    assert dec.pending == 0
    dec.close()


def test_decoder_every_split_point():
    data = stream()
    for cut in range(len(data) + 1):
        dec = FrameDecoder()
        assert dec.feed(data[:cut]) + dec.feed(data[cut:]) == MSGS


@ROUND
@given(st.lists(ws.messages, max_size=4), st.lists(st.integers(1, 50), max_size=30))
def test_decoder_random_chunking(msgs, sizes):
    data = b"".join(encode_frame(m) for m in msgs)
    dec, out, pos = FrameDecoder(), [], 0
    for n in sizes:
        out += dec.feed(data[pos:pos + n])
        pos += n
    out += dec.feed(data[pos:])
    assert out == msgs


def test_decoder_stays_failed_after_error():
    dec = FrameDecoder()
    with pytest.raises(WireError, match="unknown frame version"):
        dec.feed(b"\x07\0\0\0\0")
    with pytest.raises(WireError, match="already failed"):
        dec.feed(encode_frame(MSGS[0]))


def test_decoder_good_frames_before_a_bad_one_are_lost_with_the_stream():
    dec = FrameDecoder()
    bad = bytearray(encode_frame(MSGS[0]))
    bad[-1] ^= 1
    with pytest.raises(WireError, match="crc mismatch"):
        dec.feed(encode_frame(MSGS[1]) + bytes(bad))


def test_decoder_close_with_partial_frame():
    dec = FrameDecoder()
    dec.feed(encode_frame(MSGS[0])[:7])
    assert dec.pending == 7
    with pytest.raises(WireError, match="end of stream: 7 bytes"):
        dec.close()
