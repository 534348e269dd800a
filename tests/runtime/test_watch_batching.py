"""The Watch service sends event responses of one watcher that wait back to back as one,
and never merges anything else (created, canceled, progress, another watcher's)."""

from __future__ import annotations

from engine.runtime import etcd_watch
from engine.runtime.etcd_watch import _CLOSE, WatchStream
from engine.runtime.proto import kv_pb2, rpc_pb2


def events(watch_id: int, *revisions: int) -> rpc_pb2.WatchResponse:
    r = rpc_pb2.WatchResponse(watch_id=watch_id)
    r.header.revision = revisions[-1]
    for rev in revisions:
        r.events.add(type=kv_pb2.Event.PUT, kv=kv_pb2.KeyValue(key=b"k", mod_revision=rev))
    return r


def sent(*queued) -> list[tuple]:
    stream = WatchStream(bridge=None)
    for item in (*queued, _CLOSE):
        stream.out.put(item)
    return [(r.watch_id, r.created, [e.kv.mod_revision for e in r.events], r.header.revision)
            for r in stream.responses()]


def test_waiting_event_responses_of_one_watcher_go_out_as_one_in_order():
    created = rpc_pb2.WatchResponse(watch_id=0, created=True)
    progress = rpc_pb2.WatchResponse(watch_id=0)
    assert sent(created, events(0, 2), events(0, 3, 3), events(0, 4), events(1, 5),
                events(0, 6), progress, events(0, 7)) == [
        (0, True, [], 0), (0, False, [2, 3, 3, 4], 4), (1, False, [5], 5),
        (0, False, [6], 6), (0, False, [], 0), (0, False, [7], 7)]


def test_a_merged_response_stays_under_its_bound(monkeypatch):
    monkeypatch.setattr(etcd_watch, "MERGED_EVENTS_MAX", 3)
    assert [revs for _, _, revs, _ in sent(*(events(0, r) for r in range(1, 8)))] == [
        [1, 2, 3], [4, 5, 6], [7]]
