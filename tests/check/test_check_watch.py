"""The watch checker: each of etcd's watch guarantees, broken one at a time."""

from engine.check import StoreHistory, WatchReply, WatchStream, check_watches

from .builders import ev

STORE = StoreHistory(events=(
    ev(2, "a", "1"), ev(3, "b", "1"), ev(4, "a", "2"), ev(4, "b", "2"), ev(5, "a"),
    ev(6, "c", "1"), ev(7, "a", "3"),
), complete_from=2, current=7)


def stream(*replies, start=0, created=1, key=b"a", end=b"\0"):
    return WatchStream("w1", key, end, start, created, tuple(replies))


def reply(at, rev, *events):
    return WatchReply(at, rev, tuple(events))


def progress(at, rev):
    return WatchReply(at, rev)


def checkers(*streams):
    return [f.checker for f in check_watches(streams, STORE).findings]


GOOD = (reply(1, 2, ev(2, "a", "1")), reply(2, 3, ev(3, "b", "1")),
        reply(3, 4, ev(4, "a", "2"), ev(4, "b", "2")), reply(4, 5, ev(5, "a")),
        progress(5, 5), reply(6, 7, ev(6, "c", "1"), ev(7, "a", "3")))


def test_a_faithful_stream_passes():
    assert checkers(stream(*GOOD)) == []
    assert check_watches([stream(*GOOD)], STORE).histories == 1


def test_a_skipped_revision_is_unreliable():
    replies = GOOD[:1] + GOOD[2:]
    assert checkers(stream(*replies)) == ["watch-reliable"]


def test_a_stream_is_only_held_to_what_it_has_reported_on():
    assert checkers(stream(*GOOD[:2])) == []
    assert checkers(stream(GOOD[0], progress(2, 3))) == ["watch-reliable"]


def test_events_twice_or_out_of_order():
    assert "watch-unique" in checkers(stream(*GOOD[:2], GOOD[1]))
    swapped = (GOOD[1], GOOD[0]) + GOOD[2:]
    assert "watch-ordered" in checkers(stream(*swapped))


def test_a_revision_split_over_two_replies_is_not_atomic():
    split = GOOD[:2] + (reply(3, 4, ev(4, "a", "2")), reply(3, 4, ev(4, "b", "2"))) + GOOD[3:]
    assert "watch-atomic" in checkers(stream(*split))


def test_a_progress_notification_ahead_of_the_data():
    replies = GOOD[:2] + (progress(3, 4),) + GOOD[2:]
    assert checkers(stream(*replies)) == ["watch-progress"]


def test_an_event_the_store_never_made():
    replies = GOOD[:1] + (reply(2, 3, ev(3, "b", "zzz")),) + GOOD[2:]
    assert checkers(stream(*replies)) == ["watch-correct"]


def test_a_resumed_watch_starts_exactly_at_its_revision():
    assert checkers(stream(*GOOD[3:], start=5)) == []
    assert checkers(stream(*GOOD[2:], start=5)) == ["watch-resumable"]
    assert checkers(stream(*GOOD[4:], start=5)) == ["watch-reliable"]


def test_a_single_key_watch_sees_only_its_key():
    mine = (reply(1, 2, ev(2, "a", "1")), reply(3, 4, ev(4, "a", "2")), reply(4, 5, ev(5, "a")))
    assert checkers(stream(*mine, key=b"a", end=b"")) == []
    assert checkers(stream(mine[0], mine[2], key=b"a", end=b"")) == ["watch-reliable"]


def test_nothing_after_a_cancel():
    canceled = WatchReply(3, 4, canceled=True, compact_revision=4)
    assert checkers(stream(GOOD[0], canceled, GOOD[1])) == ["watch-ordered"]
