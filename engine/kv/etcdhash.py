"""etcd 3.4's HashKV, bit for bit, so `etcdctl endpoint hashkv` agrees with a real etcd.

etcd hashes its `key` bucket: CRC-32C (Castagnoli) over the bucket name, then for every
stored revision up to the requested one, the revision key (8-byte big-endian main, '_',
8-byte big-endian sub, and a trailing 't' for a tombstone) followed by the protobuf
encoding of the mvccpb.KeyValue stored under it (a tombstone stores only the key).
Tombstones at or below the compaction revision are gone from etcd's bucket, so they are
left out here too. Pure Python: HashKV is a rare maintenance call.
"""

from __future__ import annotations

import struct

from .types import KeyValue


def _table() -> list[int]:
    poly = 0x82F63B78   # Castagnoli, reflected
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_TABLE = _table()


def crc32c(data: bytes, crc: int = 0) -> int:
    crc ^= 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1   # int64 fields are encoded as their two's complement
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def encode_key_value(kv: KeyValue, tombstone: bool) -> bytes:
    """mvccpb.KeyValue as protobuf encodes it: fields in number order, zeros omitted."""
    out = bytearray()
    if kv.key:
        out += b"\x0a" + _varint(len(kv.key)) + kv.key
    if tombstone:
        return bytes(out)
    for tag, value in ((0x10, kv.create_revision), (0x18, kv.mod_revision),
                       (0x20, kv.version)):
        if value:
            out += bytes([tag]) + _varint(value)
    if kv.value:
        out += b"\x2a" + _varint(len(kv.value)) + kv.value
    if kv.lease:
        out += b"\x30" + _varint(kv.lease)
    return bytes(out)


def revision_key(main: int, sub: int, tombstone: bool) -> bytes:
    return struct.pack(">q", main) + b"_" + struct.pack(">q", sub) + (b"t" if tombstone else b"")


def hash_records(records, compact_rev: int) -> int:
    """`records`: (main, sub, KeyValue, tombstone) in revision order, already cut at the
    requested revision."""
    crc = crc32c(b"key")
    for main, sub, kv, tombstone in records:
        if tombstone and main <= compact_rev:
            continue
        crc = crc32c(revision_key(main, sub, tombstone), crc)
        crc = crc32c(encode_key_value(kv, tombstone), crc)
    return crc
