"""Other clients' watchers as members report them, and the events each was sent as the
keyspace mirror saw them."""

from __future__ import annotations

from engine.observe import WatchEventView
from raftviz import live_views


def reported(**more) -> dict:
    return {"watchers": [{"id": 7, "key": "k", "range_end": "l", "start": 2, "next": 5,
                          "synced": True, "pending": 0, "client": "127.0.0.1:4242 (x)",
                          "events": 2, **more}], "watchers_total": 1}


CHANGES = (WatchEventView(2, "PUT", "k1", "a"), WatchEventView(3, "DELETE", "k1", ""),
           WatchEventView(3, "PUT", "other", "b"), WatchEventView(4, "PUT", "k2", "c"),
           WatchEventView(5, "PUT", "k3", "d"))


def test_a_clients_watcher_is_sent_the_changes_on_its_keys_up_to_its_position():
    (watch,) = live_views.client_watches(2, reported())
    assert (watch.node, watch.position, watch.filters) == (2, 4, ())
    sent = live_views.sent_events(watch, CHANGES).events
    assert [(e.revision, e.event, e.key) for e in sent] == [
        (2, "PUT", "k1"), (3, "DELETE", "k1"), (4, "PUT", "k2")]


def test_a_filtered_watcher_is_not_shown_the_events_it_asked_not_to_get():
    (watch,) = live_views.client_watches(2, reported(filters=["NOPUT"]))
    assert watch.filters == ("NOPUT",)
    sent = live_views.sent_events(watch, CHANGES).events
    assert [(e.revision, e.event) for e in sent] == [(3, "DELETE")]
