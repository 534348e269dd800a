"""EntryLinks on hand-made Observe snapshots: a request's entry found by its client id in
each member's log tail, and when each member was seen appending, committing, applying;
and a LiveBackend's view taking a member's log and those stages together."""

from __future__ import annotations

from engine.observe import NodeTime
from raftviz import live_views
from raftviz.live import LiveBackend
from raftviz.live_client import Requests
from raftviz.live_links import EntryLinks


def entry(index: int, term: int, trace: str | None = None, text: str = "put k=v") -> dict:
    return {"index": index, "term": term, "type": "EntryNormal", "text": text,
            "request_id": "abc", "trace": trace}


def snap(commit: int, applied: int, *entries: dict) -> dict:
    return {"commit": commit, "applied": applied, "log": list(entries)}


def setup():
    requests = Requests(lambda: 0)
    rid = requests.start("put k v", 2, "log").id
    return requests, EntryLinks(requests, session="s1"), rid


def test_each_stage_is_noted_when_a_members_snapshot_first_shows_it():
    requests, links, rid = setup()
    mine = entry(5, 2, links.tag(rid))
    links.observe(1, snap(4, 4, entry(4, 2), mine), now=10)
    trace = requests.get(rid)
    assert (trace.index, trace.term, trace.appended) == (5, 2, (NodeTime(1, 10),))
    assert trace.committed == () and trace.applied == ()
    links.observe(1, snap(5, 4, entry(4, 2), mine), now=20)
    links.observe(1, snap(5, 5, entry(4, 2), mine), now=30)
    links.observe(1, snap(6, 6, mine, entry(6, 2)), now=40)    # nothing new to note
    trace = requests.get(rid)
    assert [trace.when(s, 1) for s in ("appended", "committed", "applied")] == [10, 20, 30]


def test_a_member_past_the_entry_counts_once_it_is_known_committed():
    requests, links, rid = setup()
    links.observe(2, snap(40, 40, entry(30, 2)), now=5)         # not yet known anywhere
    links.observe(1, snap(5, 5, entry(5, 2, links.tag(rid))), now=10)
    links.observe(2, snap(40, 40, entry(30, 2)), now=15)        # its tail starts at 30
    links.observe(3, snap(3, 3, entry(5, 1, None, "put stale=1")), now=15)
    trace = requests.get(rid)
    assert {(t.node, t.time) for t in trace.applied} == {(1, 10), (2, 15)}
    assert trace.when("appended", 3) is None        # another entry holds index 5 there


def test_another_sessions_requests_and_plain_entries_are_not_ours():
    requests, links, rid = setup()
    links.observe(1, snap(7, 7, entry(5, 2, "s2/" + rid), entry(6, 2), entry(7, 2)), now=10)
    assert requests.get(rid).index == 0 and links.by_entry() == {}
    assert links.shown("s1/r1") == "r1" and links.shown("s2/r1") == "s2/r1"
    views = live_views.log_view(1, snap(7, 7, entry(5, 2, "s2/r1"), entry(6, 2),
                                        entry(7, 2, "s1/r1")), links.shown)
    assert [e.request_id for e in views.entries] == ["s2/r1", "abc", "r1"]


def test_the_answer_keeps_the_entrys_term_and_held_messages_name_the_request():
    requests, links, rid = setup()
    links.observe(1, snap(4, 4, entry(5, 2, links.tag(rid))), now=10)
    requests.finish(rid, "OK", True, revision=9, term=3)       # the header's term
    assert (requests.get(rid).term, requests.get(rid).revision) == (2, 9)
    held = live_views.message_view(
        7, "1->2 MsgApp Term:2 Log:2/4 Commit:4 Entries:[2/5 EntryNormal '...']",
        lambda raft_id: raft_id, 0, "held", traced=links.by_entry())
    assert held.request_ids == (rid,) and held.entries == "1 entry @5"


def test_a_view_takes_a_members_log_and_the_stages_it_showed_together(monkeypatch):
    """A member's report sets its log and notes the stages it shows. A view built while a
    report arrives takes both or neither: it never says a member appended an entry that
    the member's log in the same view does not show (a CI run under load caught one)."""
    backend = LiveBackend(["http://127.0.0.1:9"], control=True)     # no one answers there
    try:
        member = backend.members[0]
        rid = backend.requests.start("put k v", 1, "log").id
        mine = entry(5, 2, backend.links.tag(rid))
        backend._on_snapshot(member, {**snap(4, 4, entry(4, 2)), "last_index": 4})
        build = backend._build

        def report_arrives_meanwhile(*args):
            backend._on_snapshot(member, {**snap(5, 5, entry(4, 2), mine), "last_index": 5})
            return build(*args)                  # as an observer's thread might, in between
        monkeypatch.setattr(backend, "_build", report_arrives_meanwhile)
        view = backend.view()
        shown = 5 in {e.index for e in view.log(1).entries}
        assert (view.request(rid).when("appended", 1) is not None) == shown
        monkeypatch.undo()
        view = backend.view()                    # the next view has both
        assert 5 in {e.index for e in view.log(1).entries}
        assert view.request(rid).when("appended", 1) is not None
    finally:
        backend.close()
