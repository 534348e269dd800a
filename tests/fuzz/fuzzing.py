"""What the fuzz tests share: the hypothesis settings (20,000 derandomized examples, no
deadline), byte mutation, and a counter that picks the few examples written to disk."""

from __future__ import annotations

import zlib

from hypothesis import HealthCheck, Phase, settings

EXAMPLES = 20_000
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                phases=[Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))


def mutate(data: bytes, script: bytes) -> bytes:
    """Overwrite bytes at positions the script picks, then cut the tail, insert a byte,
    or leave the length alone (the script's first byte chooses)."""
    buf = bytearray(data)
    for i in range(1, len(script) - 1, 2):
        if buf:
            buf[(script[i] * 131 + i * 7) % len(buf)] = script[i + 1]
    mode, where = script[0] % 3, script[0] // 3 if script else 0
    if mode == 0 and buf:
        del buf[(where * 17) % len(buf):]
    elif mode == 1:
        buf.insert((where * 17) % (len(buf) + 1), script[-1])
    return bytes(buf)


def with_crc32(body: bytes) -> bytes:
    """`body` followed by its big-endian CRC-32, as the keyspace snapshot ends."""
    return body + zlib.crc32(body).to_bytes(4, "big")


class Every:
    """True once in `n` calls: picks the examples that also go through the file path."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.calls % self.n == 0
