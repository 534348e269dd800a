"""Watches: ranges, history replay, filters, progress, compaction and slow watchers."""

import pytest
from kv_helpers import delete, put

from engine.kv import (CompactionRequest, ErrorKind, EventType, FilterType, KVConfig, KVError,
                       KVStore, PutRequest, TxnRequest, prefix_range_end)


def events(responses):
    """(type, key, value, mod_revision) of every event, in delivery order."""
    return [(ev.type, ev.kv.key, ev.kv.value, ev.kv.mod_revision)
            for resp in responses for ev in resp.events]


PUT, DEL = EventType.PUT, EventType.DELETE


def test_watch_from_now_sees_later_writes_only():
    store = KVStore()
    put(store, b"k", b"before")
    wid = store.watch(b"k")
    assert store.take_responses(wid) == []
    put(store, b"k", b"after")
    put(store, b"other", b"x")
    delete(store, b"k")
    responses = store.take_responses(wid)
    assert events(responses) == [(PUT, b"k", b"after", 3), (DEL, b"k", b"", 5)]
    assert [r.header.revision for r in responses] == [3, 5]
    assert all(r.watch_id == wid for r in responses)


def test_delete_event_carries_only_key_and_revision():
    store = KVStore()
    put(store, b"k", b"v")
    wid = store.watch(b"k")
    delete(store, b"k")
    (resp,) = store.take_responses(wid)
    kv = resp.events[0].kv
    assert (kv.key, kv.mod_revision, kv.create_revision, kv.version, kv.value) == (
        b"k", 3, 0, 0, b"")


def test_range_and_prefix_watches():
    store = KVStore()
    ranged = store.watch(b"b", b"d")
    prefixed = store.watch(b"app", prefix_range_end(b"app"))
    everything = store.watch(b"\0", b"\0")
    for key in (b"a", b"apple", b"b", b"cz", b"d"):
        put(store, key)
    assert [e[1] for e in events(store.take_responses(ranged))] == [b"b", b"cz"]
    assert [e[1] for e in events(store.take_responses(prefixed))] == [b"apple"]
    assert len(events(store.take_responses(everything))) == 5


def test_events_of_one_revision_come_together_in_order():
    store = KVStore()
    wid = store.watch(b"\0", b"\0")
    store.apply(TxnRequest(success=(PutRequest(b"z", b""), PutRequest(b"a", b""))))
    (resp,) = store.take_responses(wid)
    assert [ev.kv.key for ev in resp.events] == [b"z", b"a"]


def test_history_replay_from_an_older_revision():
    store = KVStore()
    put(store, b"k", b"1")   # 2
    put(store, b"k", b"2")   # 3
    delete(store, b"k")      # 4
    wid = store.watch(b"k", start_revision=3)
    assert events(store.take_responses(wid)) == [(PUT, b"k", b"2", 3), (DEL, b"k", b"", 4)]
    put(store, b"k", b"3")
    assert events(store.take_responses(wid)) == [(PUT, b"k", b"3", 5)]


def test_prev_kv_in_live_and_replayed_events():
    store = KVStore()
    put(store, b"k", b"1")
    live = store.watch(b"k", prev_kv=True)
    put(store, b"k", b"2")
    delete(store, b"k")
    replay = store.watch(b"k", start_revision=2, prev_kv=True)
    for wid in (live, replay):
        prevs = [ev.prev_kv and ev.prev_kv.value
                 for r in store.take_responses(wid) for ev in r.events]
        assert prevs[-2:] == [b"1", b"2"]


def test_prev_kv_is_left_out_once_compacted():
    store = KVStore()
    put(store, b"k", b"1")   # 2
    put(store, b"k", b"2")   # 3
    put(store, b"k", b"3")   # 4
    store.apply(CompactionRequest(4))
    wid = store.watch(b"k", start_revision=4, prev_kv=True)
    (resp,) = store.take_responses(wid)
    assert resp.events[0].prev_kv is None


@pytest.mark.parametrize("filters, kinds", [
    ((FilterType.NOPUT,), [DEL]),
    ((FilterType.NODELETE,), [PUT]),
    ((FilterType.NOPUT, FilterType.NODELETE), []),
])
def test_filters(filters, kinds):
    store = KVStore()
    wid = store.watch(b"k", filters=filters)
    put(store, b"k")
    delete(store, b"k")
    responses = store.take_responses(wid)
    assert [e[0] for e in events(responses)] == kinds
    assert all(r.events for r in responses)  # fully filtered revisions send nothing


def test_future_start_revision_waits_for_it():
    store = KVStore()
    wid = store.watch(b"k", start_revision=4)
    put(store, b"k", b"2")
    put(store, b"k", b"3")
    put(store, b"k", b"4")
    assert events(store.take_responses(wid)) == [(PUT, b"k", b"4", 4)]


def test_progress_notification_for_synced_watchers_only():
    store = KVStore(KVConfig(watch_max_pending=1))
    put(store, b"k")
    synced = store.watch(b"k")
    flagged = store.watch(b"k", progress_notify=True)
    store.watch(b"k", start_revision=1)      # lagging behind: never notified
    assert store.request_progress() == [synced, flagged]
    (resp,) = store.take_responses(synced)
    assert (resp.events, resp.header.revision, resp.canceled) == ((), 2, False)
    store.take_responses(flagged)
    assert store.request_progress(only_progress_notify=True) == [flagged]


def test_progress_is_queued_after_pending_events():
    store = KVStore()
    wid = store.watch(b"k")
    put(store, b"k")
    store.request_progress([wid])
    first, second = store.take_responses(wid)
    assert first.events and not second.events and second.header.revision == 2


def test_watch_below_compaction_is_cancelled_with_the_compact_revision():
    store = KVStore()
    for value in (b"1", b"2", b"3"):
        put(store, b"k", value)
    store.apply(CompactionRequest(3))
    wid = store.watch(b"k", start_revision=2)
    (resp,) = store.take_responses(wid)
    assert (resp.canceled, resp.compact_revision, resp.events) == (True, 3, ())
    with pytest.raises(KeyError):
        store.take_responses(wid)  # the watcher is gone


def test_watch_at_the_compaction_revision_is_fine():
    store = KVStore()
    for value in (b"1", b"2", b"3"):
        put(store, b"k", value)
    store.apply(CompactionRequest(3))
    wid = store.watch(b"k", start_revision=3)
    assert events(store.take_responses(wid)) == [(PUT, b"k", b"2", 3), (PUT, b"k", b"3", 4)]


def test_cancel_watch():
    store = KVStore()
    wid = store.watch(b"k")
    assert store.cancel_watch(wid) and not store.cancel_watch(wid)
    put(store, b"k")
    assert store.drain_responses() == {}


def test_watch_ids_are_assigned_or_chosen():
    store = KVStore()
    assert [store.watch(b"k") for _ in range(2)] == [0, 1]
    assert store.watch(b"k", watch_id=7) == 7
    with pytest.raises(KVError) as err:
        store.watch(b"k", watch_id=7)
    assert err.value.kind is ErrorKind.DUPLICATE_WATCH_ID


def test_slow_watcher_does_not_stall_writes_or_others_and_catches_up_in_order():
    store = KVStore(KVConfig(watch_max_pending=3, watch_batch_max_revs=4))
    slow = store.watch(b"k", b"\0")
    fast = store.watch(b"k", b"\0")
    fast_seen = []
    for i in range(20):
        put(store, b"k%02d" % (i % 7), b"%d" % i)
        fast_seen += events(store.take_responses(fast))
    assert store.current_revision == 21
    assert [e[3] for e in fast_seen] == list(range(2, 22))
    assert store.sync_watchers() == 1  # the slow one lags; its buffer is still full
    slow_seen, rounds = [], 0
    while (responses := store.take_responses(slow)):
        slow_seen += events(responses)
        rounds += 1
        assert len(responses) <= 3
    assert slow_seen == fast_seen  # no gap, no duplicate, same order
    assert rounds > 1
    put(store, b"k99", b"live")  # and it is synced again
    assert events(store.take_responses(slow)) == [(PUT, b"k99", b"live", 22)]


def test_catch_up_responses_never_split_a_revision():
    store = KVStore(KVConfig(watch_max_pending=1, watch_batch_max_revs=2))
    for i in range(5):
        store.apply(TxnRequest(success=(PutRequest(b"a%d" % i, b""), PutRequest(b"b%d" % i, b""))))
    wid = store.watch(b"\0", b"\0", start_revision=2)
    sizes = []
    while (responses := store.take_responses(wid)):
        sizes += [len(r.events) for r in responses]
    assert sizes == [4, 4, 2]


def test_slow_watcher_cancelled_when_its_history_was_compacted():
    store = KVStore(KVConfig(watch_max_pending=2))
    slow = store.watch(b"k")
    for i in range(6):
        put(store, b"k", b"%d" % i)    # revisions 2..7; slow buffers 2 and 3
    store.apply(CompactionRequest(6))
    first = store.take_responses(slow)
    assert [r.header.revision for r in first] == [2, 3]
    (last,) = store.take_responses(slow)
    assert (last.canceled, last.compact_revision) == (True, 6)


def test_drain_returns_every_watcher_with_something():
    store = KVStore()
    a = store.watch(b"a")
    store.watch(b"b")
    c = store.watch(b"c")
    put(store, b"a")
    put(store, b"c")
    ready = store.drain_responses()
    assert sorted(ready) == [a, c]
    assert store.drain_responses() == {}


def test_watchers_catch_up_after_a_snapshot_is_installed():
    leader, follower = KVStore(), KVStore()
    wid = follower.watch(b"k")
    put(leader, b"k", b"1")
    put(leader, b"k", b"2")
    follower.install_snapshot(leader.snapshot())
    assert events(follower.take_responses(wid)) == [(PUT, b"k", b"1", 2), (PUT, b"k", b"2", 3)]


def test_watcher_positions_say_where_each_stands_in_revisions():
    """What a view shows of each watcher: the revision it started from, and the first one
    it has not been given yet (a synced watcher moves on with every write, wanted or not;
    a lagging one only as it catches up)."""
    store = KVStore(KVConfig(watch_max_pending=1, watch_batch_max_revs=1))
    put(store, b"a")                                   # revision 2
    live = store.watch(b"a")                           # from the next revision
    old = store.watch(b"a", b"b", start_revision=1)    # replays history when taken
    gone = store.watch(b"z")
    store.cancel_watch(gone)
    put(store, b"other")                               # 3: nothing for either
    put(store, b"a")                                   # 4
    by_id = {p.id: p for p in store.watcher_positions()}
    assert set(by_id) == {live, old}
    assert (by_id[live].start_rev, by_id[live].next_rev, by_id[live].synced) == (3, 5, True)
    assert by_id[live].pending == 1                    # revision 4, not taken yet
    assert (by_id[old].start_rev, by_id[old].next_rev, by_id[old].synced) == (1, 1, False)
    at = []
    for _ in range(3):                     # one revision of history per response
        store.take_responses(old)
        at.append((store.watcher_positions()[1].next_rev, store.watcher_positions()[1].synced))
    assert at == [(4, False), (5, False), (5, True)]
    assert [p.id for p in store.watcher_positions(limit=1)] == [live]
    assert by_id[live].filters == ()


def test_watcher_positions_name_the_filters_each_asked_for():
    store = KVStore(KVConfig())
    ids = [store.watch(b"k", filters=f) for f in
           ((FilterType.NOPUT,), (FilterType.NODELETE, FilterType.NOPUT))]
    by_id = {p.id: p.filters for p in store.watcher_positions()}
    assert [by_id[i] for i in ids] == [("NOPUT",), ("NODELETE", "NOPUT")]
