"""Key spans and the prefix helper, as etcd's clients and server read them."""

import pytest

from engine.kv import ALL_KEYS_END, KeySpan, prefix_range_end


@pytest.mark.parametrize("prefix, end", [
    (b"foo", b"fop"),
    (b"a\xff", b"b"),
    (b"a\xff\xff", b"b"),
    (b"\xff\xff", b"\0"),
    (b"", b"\0"),
    (b"ab\x00", b"ab\x01"),
])
def test_prefix_range_end_matches_get_prefix_range_end(prefix, end):
    assert prefix_range_end(prefix) == end


def test_span_of_empty_range_end_is_one_key():
    span = KeySpan.of(b"k")
    assert span.is_single
    assert span.contains(b"k") and not span.contains(b"k0")


def test_span_of_nul_range_end_is_every_key_from_key():
    span = KeySpan.of(b"b", ALL_KEYS_END)
    assert not span.contains(b"a")
    assert span.contains(b"b") and span.contains(b"\xff\xff\xff")


def test_span_is_half_open():
    span = KeySpan.of(b"b", b"d")
    assert [k for k in (b"a", b"b", b"c", b"cz", b"d") if span.contains(k)] == [b"b", b"c", b"cz"]


def test_prefix_span_of_all_ff_bytes_reaches_the_end():
    span = KeySpan.prefix(b"\xff")
    assert span.contains(b"\xff") and span.contains(b"\xff\x01")
    assert not span.contains(b"\xfe")
