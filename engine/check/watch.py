"""Watch guarantees, as etcd's API documentation states them, checked per watch stream
against the store's history of changes.

- ordered: events come in revision order, and a revision never comes back;
- unique: no event is delivered twice;
- atomic: all events of one revision (within the watched range) come in one response;
- reliable: no event in the watched range is skipped, from the revision the watch
  started at up to the last revision it has reported on (its last event, or a progress
  notification's revision);
- resumable: a watch created at a past revision starts exactly there: nothing earlier
  comes, nothing from there on is missing (reliable covers the latter);
- progress notifications are never ahead of the data: after one at revision h, no event
  at or below h arrives;
- correct: every event is one the store made, with the same kind and value.

Revisions below the history's `complete_from` (compacted) cannot be checked and are not.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Sequence

from .findings import Finding, Verdicts
from .history import PUT, StoreEvent, StoreHistory, show

MAX_SHOWN = 6
ALL_KEYS = b"\0"                  # range_end meaning "every key from key on"


@dataclass(frozen=True, slots=True)
class WatchReply:
    at: int                                  # when the client got it
    revision: int                            # its header revision
    events: tuple[StoreEvent, ...] = ()
    canceled: bool = False
    compact_revision: int = 0

    @property
    def is_progress(self) -> bool:
        return not self.events and not self.canceled


@dataclass(frozen=True, slots=True)
class WatchStream:
    name: str
    key: bytes
    range_end: bytes                         # etcd's: b"" one key, b"\0" every key from key
    start_revision: int                      # as asked; 0 means "from now"
    created_revision: int                    # the store revision when it was created
    replies: tuple[WatchReply, ...]
    dropped_kinds: frozenset[str] = frozenset()   # PUT / DELETE filtered out

    @property
    def first(self) -> int:
        return self.start_revision if self.start_revision > 0 else self.created_revision + 1

    def wants(self, ev: StoreEvent) -> bool:
        if ev.kind in self.dropped_kinds:
            return False
        if not self.range_end:
            return ev.key == self.key
        return ev.key >= self.key and (self.range_end == ALL_KEYS or ev.key < self.range_end)


def describe_event(ev: StoreEvent) -> str:
    body = f"={show(ev.value)}" if ev.kind == PUT else ""
    return f"{ev.kind} {show(ev.key)}{body}@{ev.revision}"


def describe_reply(r: WatchReply, stamp: Callable[[int], str] = str) -> str:
    if r.canceled:
        what = f"canceled (compacted at {r.compact_revision})"
    elif r.is_progress:
        what = "progress notification"
    else:
        what = ", ".join(describe_event(e) for e in r.events)
    return f"{stamp(r.at)} header rev {r.revision}: {what}"


def check_watches(streams: Sequence[WatchStream], store: StoreHistory,
                  stamp: Callable[[int], str] = str) -> Verdicts:
    by_rev: dict[int, list[StoreEvent]] = defaultdict(list)
    for ev in store.events:
        by_rev[ev.revision].append(ev)
    out = Verdicts(histories=len(streams))
    for stream in streams:
        out.findings += _check_stream(stream, store, by_rev, stamp)
    return out


def _check_stream(s: WatchStream, store: StoreHistory, by_rev: dict,
                  stamp: Callable[[int], str]) -> list[Finding]:
    findings: list[Finding] = []
    for check in (_ordered_and_unique, _correct, _atomic, _reliable, _progress, _after_cancel):
        findings += check(s, store, by_rev, stamp)
    return findings


def _finding(kind: str, s: WatchStream, what: str, lines: list[str]) -> Finding:
    return Finding(f"watch-{kind}", f"{s.name} on {_span(s)} from revision {s.first}: {what}",
                   tuple(lines[:MAX_SHOWN]))


def _span(s: WatchStream) -> str:
    if not s.range_end:
        return show(s.key)
    end = "end" if s.range_end == ALL_KEYS else show(s.range_end)
    return f"[{show(s.key)}, {end})"


def _ordered_and_unique(s, store, by_rev, stamp) -> list[Finding]:
    found, last, seen = [], 0, set()
    for reply in s.replies:
        for ev in reply.events:
            if ev.revision < s.first:
                found.append(_finding("resumable", s, f"event from revision {ev.revision}, "
                                      f"before the start", [describe_reply(reply, stamp)]))
            if (ev.revision, ev.key) in seen:
                found.append(_finding("unique", s, f"{describe_event(ev)} delivered twice",
                                      [describe_reply(reply, stamp)]))
            elif ev.revision < last:
                found.append(_finding("ordered", s, f"{describe_event(ev)} after an event "
                                      f"of revision {last}", [describe_reply(reply, stamp)]))
            seen.add((ev.revision, ev.key))
            last = max(last, ev.revision)
    first = {}
    for f in found:
        first.setdefault(f.checker, f)
    return list(first.values())


def _correct(s, store, by_rev, stamp) -> list[Finding]:
    for reply in s.replies:
        for ev in reply.events:
            if ev.revision < store.complete_from:
                continue
            if not any(_same(ev, e) for e in by_rev.get(ev.revision, ())):
                return [_finding("correct", s, f"{describe_event(ev)} never happened in the "
                                 f"store", [describe_reply(reply, stamp)])]
    return []


def _same(a: StoreEvent, b: StoreEvent) -> bool:
    return (a.key, a.kind, a.value if a.kind == PUT else b"") == \
        (b.key, b.kind, b.value if b.kind == PUT else b"")


def _atomic(s, store, by_rev, stamp) -> list[Finding]:
    for reply in s.replies:
        revs = sorted({ev.revision for ev in reply.events if ev.revision >= store.complete_from})
        for rev in revs:
            got = {ev.key for ev in reply.events if ev.revision == rev}
            want = {ev.key for ev in by_rev.get(rev, ()) if s.wants(ev)}
            if want - got:
                missing = ", ".join(show(k) for k in sorted(want - got))
                return [_finding("atomic", s, f"revision {rev} came without its change(s) "
                                 f"to {missing}", [describe_reply(reply, stamp)])]
    return []


def _covered(s: WatchStream) -> int:
    """The highest revision the stream has told its client about."""
    top = 0
    for reply in s.replies:
        if reply.is_progress:
            top = max(top, reply.revision)
        for ev in reply.events:
            top = max(top, ev.revision)
    return top


def _reliable(s, store, by_rev, stamp) -> list[Finding]:
    delivered = {(ev.revision, ev.key) for r in s.replies for ev in r.events}
    lo, hi = max(s.first, store.complete_from), min(_covered(s), store.current)
    missing = [ev for rev in range(lo, hi + 1) for ev in by_rev.get(rev, ())
               if s.wants(ev) and (ev.revision, ev.key) not in delivered]
    if not missing:
        return []
    lines = [f"missing: {describe_event(ev)}" for ev in missing[:3]]
    lines += [describe_reply(r, stamp) for r in _around(s.replies, missing[0].revision)]
    return [_finding("reliable", s, f"{len(missing)} event(s) up to revision {hi} never "
                     f"delivered, first {describe_event(missing[0])}", lines)]


def _around(replies: tuple[WatchReply, ...], rev: int) -> list[WatchReply]:
    """The replies just before and after the place where revision `rev` belonged."""
    k = next((n for n, r in enumerate(replies)
              if any(ev.revision > rev for ev in r.events) or
              (r.is_progress and r.revision >= rev)), len(replies))
    return list(replies[max(0, k - 2):k + 2])


def _progress(s, store, by_rev, stamp) -> list[Finding]:
    high = 0
    for n, reply in enumerate(s.replies):
        late = [ev for ev in reply.events if ev.revision <= high]
        if late:
            before = next(r for r in reversed(s.replies[:n]) if r.is_progress and
                          r.revision == high)
            return [_finding("progress", s, f"a progress notification at revision {high} "
                             f"came before {describe_event(late[0])}",
                             [describe_reply(before, stamp), describe_reply(reply, stamp)])]
        if reply.is_progress:
            high = max(high, reply.revision)
    return []


def _after_cancel(s, store, by_rev, stamp) -> list[Finding]:
    canceled = [n for n, r in enumerate(s.replies) if r.canceled]
    if canceled and canceled[0] != len(s.replies) - 1:
        return [_finding("ordered", s, "replies after the watch was canceled",
                         [describe_reply(r, stamp) for r in s.replies[canceled[0]:]])]
    return []
