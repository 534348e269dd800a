"""engine.wire: deterministic, versioned binary encodings of the Raft vocabulary (sans-IO,
stdlib only). `codec` owns the value encodings (big-endian), `frame` the peer frame and the
incremental `FrameDecoder`. Decoders raise `WireError` and nothing else on bad input.
"""

from .codec import (
    decode_conf_state, decode_entry, decode_hard_state, decode_message, decode_snapshot,
    decode_snapshot_metadata, encode_conf_state, encode_entry, encode_hard_state,
    encode_message, encode_snapshot, encode_snapshot_metadata,
)
from .errors import EncodeError, WireError
from .frame import (
    DEFAULT_MAX_FRAME_SIZE, FRAME_OVERHEAD, WIRE_VERSION, FrameDecoder, decode_frame,
    decode_payload_frame, encode_frame, encode_payload_frame,
)

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE", "EncodeError", "FRAME_OVERHEAD", "FrameDecoder", "WIRE_VERSION",
    "WireError", "decode_conf_state", "decode_entry", "decode_frame", "decode_hard_state",
    "decode_message", "decode_payload_frame", "decode_snapshot", "decode_snapshot_metadata",
    "encode_conf_state", "encode_entry", "encode_frame", "encode_hard_state",
    "encode_message", "encode_payload_frame", "encode_snapshot", "encode_snapshot_metadata",
]
