"""etcd's HashKV pieces: CRC-32C and the protobuf encoding of mvccpb.KeyValue."""

from hypothesis import given, settings, strategies as st

from engine.kv import KeyValue
from engine.kv.etcdhash import crc32c, encode_key_value, revision_key
from engine.runtime.proto import kv_pb2


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"6789", crc32c(b"12345")) == 0xE3069283


def test_revision_key_layout():
    assert revision_key(5, 1, False) == b"\0" * 7 + b"\x05_" + b"\0" * 7 + b"\x01"
    assert revision_key(5, 1, True).endswith(b"\x01t")


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=40), st.binary(max_size=60),
       *[st.integers(0, 2 ** 62) for _ in range(4)])
def test_key_value_encoding_matches_protobuf(key, value, create, mod, version, lease):
    kv = KeyValue(key, create, mod, version, value, lease)
    expected = kv_pb2.KeyValue(key=key, create_revision=create, mod_revision=mod,
                               version=version, value=value, lease=lease)
    assert encode_key_value(kv, False) == expected.SerializeToString(deterministic=True)
    assert encode_key_value(kv, True) == kv_pb2.KeyValue(key=key).SerializeToString()
