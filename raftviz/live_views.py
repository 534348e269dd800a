"""Turning what live members report into the views of `engine.observe`.

A member with raftviz's control service reports itself as a JSON snapshot (see
`engine.runtime.control.observe`); a real etcd only answers Status and MemberList, which
`etcd_snapshot` reshapes into the same dictionary, so one set of builders serves both.
Members carry 64-bit Raft ids; the interface numbers them 1..N, so every builder takes an
`ids` function from a Raft id to that number (0 for nobody). Pure functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import replace
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

from engine.observe import (
    EntryView, LogView, MessageStatus, MessageView, NetworkView, NodeView, ProgressView,
    RequestTrace, WatchEventView, WatchView,
)

Ids = Callable[[int], int]
Snapshot = Mapping[str, object]
EVENTS_KEPT = 12        # a watch's latest events, as views keep them
Named = Callable[[str], str]                     # an entry's trace id -> the id shown
Traced = Mapping[tuple[int, int], str]           # (term, index) -> the request it carries
NO_TRACES: Traced = MappingProxyType({})

MESSAGE_ID_SPAN = 1_000_000   # message id = member number * span + the gate's held id

_HEAD = re.compile(r"^(\d+)->(\d+) (\w+) Term:(\d+) Log:(\d+)/(\d+)")
_COMMIT = re.compile(r" Commit:(\d+)")
_ENTRY = re.compile(r"(\d+)/(\d+) Entry(?:Normal|ConfChange)")


# --- nodes ------------------------------------------------------------------------------


def node_view(number: int, snap: Snapshot, ids: Ids, *, up: bool, paused: bool,
              removed: bool, client_url: str = "") -> NodeView:
    voters, learners = snap.get("voters", ()), snap.get("learners", ())
    raft_id = int(snap.get("id", 0))
    return NodeView(
        id=number, up=up, paused=paused or (up and bool(snap.get("paused"))),
        role=str(snap.get("role", "follower")) if up else "follower",
        term=int(snap.get("term", 0)), vote=ids(int(snap.get("vote", 0))),
        lead=ids(int(snap.get("lead", 0))) if up else 0,
        commit=int(snap.get("commit", 0)), applied=int(snap.get("applied", 0)),
        first_index=int(snap.get("first_index", 0)), last_index=int(snap.get("last_index", 0)),
        snapshot_index=int(snap.get("snapshot_index", 0)),
        voter=raft_id in voters, learner=raft_id in learners, removed=removed,
        lead_transferee=ids(int(snap.get("lead_transferee", 0))),
        progress=progress_views(snap, ids) if up else (),
        revision=int(snap.get("revision", 0)), db_size=int(snap.get("db_size", 0)),
        db_in_use=int(snap.get("db_in_use", snap.get("db_size", 0))), client_url=client_url)


def unknown_node(number: int, removed: bool = False, client_url: str = "") -> NodeView:
    """A member that never answered: nothing is known but that it is not running, and
    where it would answer."""
    return NodeView(number, False, False, "follower", 0, 0, 0, 0, 0, 0, 0, 0, False, False,
                    removed=removed, client_url=client_url)


def progress_views(snap: Snapshot, ids: Ids) -> tuple[ProgressView, ...]:
    progress = snap.get("progress") or {}
    assert isinstance(progress, Mapping)
    views = [ProgressView(ids(int(peer)), int(p["match"]), int(p["next"]), str(p["state"]),
                          bool(p["recent_active"]), int(p["inflight"]), bool(p["learner"]))
             for peer, p in progress.items()]
    return tuple(sorted(views, key=lambda p: p.peer))


# --- logs -------------------------------------------------------------------------------


def entry_view(entry: Mapping[str, object], named: Named = str, revision: int = 0) -> EntryView:
    """The control service describes each entry in words (engine.runtime.control). A
    request is known by the trace id its client gave it (named as the interface calls
    it), else by the proposing member's own request id."""
    index, term = int(entry["index"]), int(entry["term"])
    text = str(entry.get("text", ""))
    if entry.get("type") == "ConfChange":
        return EntryView(index, term, "conf", "conf " + text)
    if text == "(new term)":
        return EntryView(index, term, "empty", "empty (new leader)")
    trace, request_id = entry.get("trace"), entry.get("request_id")
    shown = named(str(trace)) if trace else str(request_id) if request_id else None
    return EntryView(index, term, "normal", text, shown, revision)


def log_view(number: int, snap: Snapshot, named: Named = str) -> LogView:
    entries = snap.get("log") or ()
    assert isinstance(entries, (list, tuple))
    revisions = snap.get("revisions") or {}
    assert isinstance(revisions, Mapping)
    last = int(snap.get("last_index", 0))
    return LogView(number, tuple(entry_view(e, named, int(revisions.get(str(e["index"]), 0)))
                                 for e in entries),
                   int(snap.get("first_index", 0)), last, int(snap.get("snapshot_index", 0)),
                   0, int(snap.get("commit", 0)), int(snap.get("applied", 0)),
                   synced_index=last)   # a live member fsyncs before it sends or acks


def client_watches(number: int, snap: Snapshot) -> tuple[WatchView, ...]:
    """The watchers clients opened on this member (it leaves out the interface's own),
    each at the revision it has been given everything up to."""
    watchers = snap.get("watchers") or ()
    assert isinstance(watchers, (list, tuple))
    return tuple(WatchView(int(w["id"]), number, str(w["key"]), str(w["range_end"]),
                           int(w["start"]), (), int(w["events"]), client=str(w["client"]),
                           position=int(w["next"]) - 1,
                           filters=tuple(str(f) for f in w.get("filters") or ()))
                 for w in watchers)


def unlisted_watches(snap: Snapshot) -> int:
    """How many clients' watchers the member has beyond those it listed."""
    listed = snap.get("watchers") or ()
    assert isinstance(listed, (list, tuple))
    return max(0, int(snap.get("watchers_total", 0)) - len(listed))


def sent_events(watch: WatchView, changes: Iterable[WatchEventView]) -> WatchView:
    """A client's watcher with the events it has been sent, as far as the keyspace
    mirror saw them: the changes on its keys from its start up to its position, less
    those its filters leave out."""
    span = watch.span()
    sent = [c for c in changes if watch.start_revision <= c.revision <= watch.position
            and span.contains(c.key.encode()) and watch.wants(c)]
    return replace(watch, events=tuple(sent[-EVENTS_KEPT:]))


def with_client_watch_events(requests: Iterable[RequestTrace],
                             watches: tuple[WatchView, ...]) -> tuple[RequestTrace, ...]:
    """Each write followed on to the events other clients' watchers were sent for it."""
    out = []
    for trace in requests:
        seen = tuple(w.saw(e) for w in watches for e in w.events
                     if trace.revision and e.revision == trace.revision)
        out.append(replace(trace, watch_events=trace.watch_events + seen) if seen else trace)
    return tuple(out)


# --- messages and the network -----------------------------------------------------------


def held_messages(number: int, snap: Snapshot, ids: Ids, first_seen: Mapping[int, int],
                  traced: Traced = NO_TRACES) -> list[MessageView]:
    views = []
    for held in snap.get("held") or ():
        msg_id = number * MESSAGE_ID_SPAN + int(held["id"])
        views.append(message_view(msg_id, str(held["text"]), ids, first_seen.get(msg_id, 0),
                                  f"held at node {number}'s gate", traced=traced))
    return views


def message_view(msg_id: int, text: str, ids: Ids, sent_at: int, note: str,
                 status: MessageStatus = MessageStatus.HELD,
                 traced: Traced = NO_TRACES) -> MessageView:
    head = _HEAD.match(text)
    if head is None:
        return MessageView(msg_id, "?", 0, 0, 0, 0, 0, 0, "", 0, False, text, status,
                           sent_at, note=note)
    frm, to = ids(int(head.group(1))), ids(int(head.group(2)))
    commit = _COMMIT.search(text)
    carried = [(int(m.group(1)), int(m.group(2))) for m in _ENTRY.finditer(text)]
    first, last = (carried[0][1], carried[-1][1]) if carried else (0, 0)
    summary = entries_summary(len(carried), first, last)
    shown = f"{frm}->{to}" + text[head.end(2):]
    return MessageView(
        msg_id, head.group(3), frm, to, int(head.group(4)), int(head.group(6)),
        int(head.group(5)), int(commit.group(1)) if commit else 0, summary, len(carried),
        " Rejected" in text, shown, status, sent_at, note=note,
        request_ids=tuple(traced[e] for e in carried if e in traced))


def entries_summary(count: int, first: int, last: int) -> str:
    """"1 entry @5", "3 entries 5..7"; a proposal's entries have no index yet."""
    if not count:
        return ""
    if not first:
        return "1 entry" if count == 1 else f"{count} entries"
    return f"1 entry @{first}" if count == 1 else f"{count} entries {first}..{last}"


def network_view(snaps: list[Snapshot], ids: Ids) -> NetworkView:
    gates = [s.get("gate") or {} for s in snaps]
    delay = max((float(g.get("delay", 0.0)) for g in gates), default=0.0)
    drop = max((float(g.get("drop_rate", 0.0)) for g in gates), default=0.0)
    cuts = {(ids(int(s.get("id", 0))), ids(int(peer)))
            for s, g in zip(snaps, gates) for peer in g.get("cut", ())}
    hold = any(bool(g.get("hold")) for g in gates)
    return NetworkView(int(delay * 1000), int(delay * 1000), drop, 0.0, False, 0, hold,
                       tuple(sorted(c for c in cuts if 0 not in c)))


# --- a real etcd ------------------------------------------------------------------------


def etcd_snapshot(status, members) -> dict:
    """A Maintenance.Status answer and the MemberList, shaped like a control snapshot."""
    me = status.header.member_id
    voters = [m.ID for m in members if not m.isLearner]
    return {
        "id": me, "role": "leader" if status.leader == me else "follower",
        "term": status.raftTerm, "lead": status.leader, "commit": status.raftIndex,
        "applied": getattr(status, "raftAppliedIndex", 0) or status.raftIndex,
        "last_index": status.raftIndex, "voters": voters,
        "learners": [m.ID for m in members if m.isLearner],
        "revision": status.header.revision, "db_size": status.dbSize,
        "db_in_use": getattr(status, "dbSizeInUse", 0) or status.dbSize,
        "members": {str(m.ID): {"name": m.name, "client_urls": list(m.clientURLs),
                                "peer_urls": list(m.peerURLs), "learner": m.isLearner}
                    for m in members},
    }
