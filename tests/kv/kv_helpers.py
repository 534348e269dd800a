"""Small shorthands shared by the keyspace tests."""

from engine.kv import (ALL_KEYS_END, DeleteRangeRequest, KVStore, PutRequest, RangeRequest)


def put(store: KVStore, key: bytes, value: bytes = b"", **options):
    return store.apply(PutRequest(key, value, **options))


def delete(store: KVStore, key: bytes, range_end: bytes = b"", **options):
    return store.apply(DeleteRangeRequest(key, range_end, **options))


def get(store: KVStore, key: bytes, revision: int = 0):
    kvs = store.range(RangeRequest(key, revision=revision)).kvs
    return kvs[0] if kvs else None


def keys(store: KVStore, key: bytes = b"\0", range_end: bytes = ALL_KEYS_END, **options):
    return [kv.key for kv in store.range(RangeRequest(key, range_end, **options)).kvs]
