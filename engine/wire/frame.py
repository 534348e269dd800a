"""Peer frames: how one encoded Message travels over a byte stream.

    [u8 version][u32 payload length][payload: encode_message(...)][u32 crc32]

The same framing carries other payloads whole (`encode_payload_frame`): the membership a
member sends to one that is joining.

Big-endian like the rest of engine.wire. The CRC (zlib's crc32) covers the version, the
length and the payload, so a flipped length is caught too. A frame whose declared length
exceeds `max_frame_size` is refused as soon as its 5-byte header arrives: a peer can never
make us buffer more than one maximum-size frame.
"""

from __future__ import annotations

import struct
import zlib

from engine.raft.types import Message

from .codec import decode_message, encode_message
from .errors import EncodeError, WireError

WIRE_VERSION = 1
DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024
_HEAD = struct.Struct(">BI")     # version, payload length
_CRC = struct.Struct(">I")
FRAME_OVERHEAD = _HEAD.size + _CRC.size


def encode_frame(msg: Message, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    return encode_payload_frame(encode_message(msg), max_frame_size)


def encode_payload_frame(payload: bytes, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    if len(payload) > max_frame_size:
        raise EncodeError(
            f"cannot encode frame: payload of {len(payload)} bytes exceeds the"
            f" {max_frame_size}-byte limit")
    body = _HEAD.pack(WIRE_VERSION, len(payload)) + payload
    return body + _CRC.pack(zlib.crc32(body))


def _check_head(buf: bytes | bytearray, max_frame_size: int) -> int:
    """Validate a frame header (at least 5 bytes); return the payload length."""
    version, length = _HEAD.unpack_from(buf, 0)
    if version != WIRE_VERSION:
        raise WireError(f"unknown frame version {version} (supported: {WIRE_VERSION})")
    if length > max_frame_size:
        raise WireError(
            f"oversized frame: {length} bytes declared, limit is {max_frame_size}")
    return length


def _open_frame(frame: bytes, length: int) -> Message:
    """Check the CRC of one complete frame and decode its payload."""
    return decode_message(_checked_payload(frame, length))


def _checked_payload(frame: bytes, length: int) -> bytes:
    end = _HEAD.size + length
    (want,) = _CRC.unpack_from(frame, end)
    got = zlib.crc32(frame[:end])
    if got != want:
        raise WireError(f"frame crc mismatch: stored {want:#010x}, computed {got:#010x}")
    return frame[_HEAD.size:end]


def decode_frame(data: bytes, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> Message:
    """Decode exactly one whole frame."""
    return decode_message(decode_payload_frame(data, max_frame_size))


def decode_payload_frame(data: bytes, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
    """The payload of exactly one whole frame, its CRC checked."""
    data = bytes(data)
    if len(data) < _HEAD.size:
        raise WireError(f"truncated frame: {len(data)} bytes, header needs {_HEAD.size}")
    length = _check_head(data, max_frame_size)
    total = length + FRAME_OVERHEAD
    if len(data) < total:
        raise WireError(f"truncated frame: {len(data)} of {total} bytes")
    if len(data) > total:
        raise WireError(f"trailing {len(data) - total} bytes after frame")
    return _checked_payload(data, length)


class FrameDecoder:
    """Incremental decoder for a peer stream: `feed()` bytes as they arrive, get back every
    message completed so far. After a WireError the stream is out of sync for good, so the
    decoder stays failed and the caller should drop the connection."""

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        self.max_frame_size = max_frame_size
        self._buf = bytearray()
        self._failed: WireError | None = None

    @property
    def pending(self) -> int:
        """Bytes buffered towards a frame not yet complete."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        if self._failed is not None:
            raise WireError(f"decoder already failed: {self._failed}")
        self._buf += data
        try:
            return self._drain()
        except WireError as exc:
            self._failed = exc
            self._buf.clear()
            raise

    def _drain(self) -> list[Message]:
        out: list[Message] = []
        pos = 0
        buf = self._buf
        while len(buf) - pos >= _HEAD.size:
            length = _check_head(buf[pos:pos + _HEAD.size], self.max_frame_size)
            total = length + FRAME_OVERHEAD
            if len(buf) - pos < total:
                break
            out.append(_open_frame(bytes(buf[pos:pos + total]), length))
            pos += total
        del buf[:pos]   # one compaction per feed keeps many small frames linear
        return out

    def close(self) -> None:
        """The peer closed the stream: a half-received frame is an error."""
        if self._failed is None and self._buf:
            n = len(self._buf)
            self._buf.clear()
            raise WireError(f"truncated frame at end of stream: {n} bytes left over")
