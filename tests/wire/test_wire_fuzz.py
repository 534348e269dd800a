"""Fuzz every decoder: random bytes and mutated valid encodings must only ever raise
WireError (or decode to something), never another exception, never hang.

Each hypothesis example feeds the same input to every decoder, so each decoder sees
20,000 random inputs and 20,000 mutated valid encodings while hypothesis' per-example cost
(most of the runtime) is paid once.
"""

from __future__ import annotations

import random
import struct
import zlib

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from engine.raft.types import (
    ConfState, Entry, EntryType, HardState, Message, MessageType, Snapshot, SnapshotMetadata,
)
from engine.wire import (
    WIRE_VERSION, FrameDecoder, WireError, decode_conf_state, decode_entry, decode_frame,
    decode_hard_state, decode_message, decode_snapshot, decode_snapshot_metadata,
    encode_conf_state, encode_entry, encode_frame, encode_hard_state, encode_message,
    encode_snapshot, encode_snapshot_metadata,
)

FUZZ = settings(
    max_examples=20_000, deadline=None, derandomize=True, database=None,
    phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck),
)
MAX_FRAME = 4096


def decode_stream(data: bytes) -> None:
    """Feed in uneven chunks, then close: the path the TCP transport will take."""
    dec = FrameDecoder(max_frame_size=MAX_FRAME)
    for i in range(0, len(data), 7):
        dec.feed(data[i:i + 7])
    dec.close()


DECODERS = {
    "entry": decode_entry, "hard_state": decode_hard_state,
    "conf_state": decode_conf_state, "snapshot_metadata": decode_snapshot_metadata,
    "snapshot": decode_snapshot, "message": decode_message,
    "frame": lambda b: decode_frame(b, max_frame_size=MAX_FRAME),
    "stream": decode_stream,
}


def random_message(rng: random.Random) -> Message:
    def num() -> int:
        return rng.choice([0, 1, rng.randrange(1000), rng.randrange(2**64)])
    ents = tuple(Entry(num(), num(), rng.choice(list(EntryType)), rng.randbytes(rng.randrange(9)))
                 for _ in range(rng.randrange(4)))
    snap = None
    if rng.random() < 0.5:
        cs = ConfState(frozenset(rng.sample(range(1, 9), 3)), frozenset({num() + 10}))
        snap = Snapshot(SnapshotMetadata(num(), num(), cs), rng.randbytes(rng.randrange(9)))
    return Message(rng.choice(list(MessageType)), num(), num(), num(), num(), num(), ents,
                   num(), snap, rng.random() < 0.5, num(), rng.randbytes(rng.randrange(5)))


def build_corpus() -> dict[str, list[bytes]]:
    rng = random.Random(20240601)
    msgs = [random_message(rng) for _ in range(32)]
    snaps = [m.snapshot for m in msgs if m.snapshot is not None]
    ents = [e for m in msgs for e in m.entries]
    return {
        "entry": [encode_entry(e) for e in ents],
        "hard_state": [encode_hard_state(HardState(m.term, m.to, m.commit)) for m in msgs],
        "conf_state": [encode_conf_state(s.metadata.conf_state) for s in snaps],
        "snapshot_metadata": [encode_snapshot_metadata(s.metadata) for s in snaps],
        "snapshot": [encode_snapshot(s) for s in snaps],
        "message": [encode_message(m) for m in msgs],
        "frame": [encode_frame(m) for m in msgs],
        "stream": [encode_frame(a) + encode_frame(b) for a, b in zip(msgs, msgs[1:])],
    }


CORPUS = build_corpus()


def feed(decode, data: bytes) -> None:
    try:
        decode(data)
    except WireError:
        pass


def with_frame_crc(payload: bytes) -> bytes:
    """A frame whose envelope is right, so the fuzz reaches the message decoder."""
    head = struct.pack(">BI", WIRE_VERSION, len(payload))
    return head + payload + struct.pack(">I", zlib.crc32(head + payload))


def mutate(data: bytes, script: bytes) -> bytes:
    """Apply a mutation script: (position, value) byte pairs overwrite, then the first byte
    picks a tail cut, a byte insertion, or nothing."""
    buf = bytearray(data)
    for i in range(1, len(script) - 1, 2):
        if buf:
            buf[(script[i] * 7 + i) % len(buf)] = script[i + 1]
    mode, where = script[0] % 3, script[0] // 3
    if mode == 0 and buf:
        del buf[where % len(buf):]
    elif mode == 1:
        buf.insert(where % (len(buf) + 1), script[-1])
    return bytes(buf)


@pytest.mark.slow
@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_every_decoder(data):
    """20,000 random byte strings into every decoder, and (reading the same bytes as a
    pick + mutation script) 20,000 mutated valid encodings into every decoder."""
    for decode in DECODERS.values():
        feed(decode, data)
    feed(decode_frame, with_frame_crc(data))
    pick, script = int.from_bytes(data[:2], "big"), data[2:11] or b"\0"
    for kind, decode in DECODERS.items():
        samples = CORPUS[kind]
        feed(decode, mutate(samples[pick % len(samples)], script))
    message = CORPUS["message"][pick % len(CORPUS["message"])]
    feed(decode_frame, with_frame_crc(mutate(message, script)))
