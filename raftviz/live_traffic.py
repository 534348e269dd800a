"""A live cluster's Raft traffic, as the interface's timeline shows it.

Every member reports the last messages its gate let out or dropped, numbered
(engine.runtime.traffic). `TrafficLog` keeps the ones not seen yet as MessageViews, for
the view's message history, and counts those it never saw: a busy member sends more between
two reports than a report carries, so under load the timeline is a sample, and says so.
A member that restarts numbers its messages from 1 again; that starts its count afresh.
Live traffic has negative message ids (`traffic_id`): it is watched, not held, so no
command takes it.
"""

from __future__ import annotations

from collections import deque

from engine.observe import MessageStatus, MessageView

from .live_views import MESSAGE_ID_SPAN, NO_TRACES, Ids, Traced, entries_summary

MESSAGES_KEPT = 200      # appends, votes, proposals and their answers
HEARTBEATS_KEPT = 60     # heartbeats and their answers


class TrafficLog:
    def __init__(self, origin_ms: int) -> None:
        self.origin_ms = origin_ms        # the backend's time 0, on the wall clock
        self.last: dict[int, int] = {}    # member number -> the last message number taken
        self.missed = 0                   # sent since the interface attached, never shown
        # Heartbeats are kept apart: an idle cluster's steady hum would otherwise push
        # the last put's appends out of the timeline within seconds.
        self.kept: deque[MessageView] = deque(maxlen=MESSAGES_KEPT)
        self.beats: deque[MessageView] = deque(maxlen=HEARTBEATS_KEPT)

    def take(self, number: int, report: dict, ids: Ids, traced: Traced = NO_TRACES) -> None:
        """Keep the messages in one member's report that were not taken before."""
        recent = [s for s in report.get("recent") or () if isinstance(s, dict)]
        count = int(report.get("count", 0))
        last = self.last.get(number)
        if last is None or count < last:          # the first report, or a restarted member
            last = min((int(s["seq"]) for s in recent), default=count + 1) - 1
        new = [s for s in recent if int(s["seq"]) > last]
        self.missed += max(0, count - last - len(new))
        self.last[number] = max(count, last)
        for sent in new:
            m = self.view(number, sent, ids, traced)
            (self.beats if m.heartbeat else self.kept).append(m)

    def messages(self) -> tuple[MessageView, ...]:
        """Every message kept, oldest first."""
        return tuple(sorted((*self.kept, *self.beats), key=lambda m: (m.sent_at, m.id)))

    def view(self, number: int, sent: dict, ids: Ids, traced: Traced) -> MessageView:
        frm, to = ids(int(sent["from"])), ids(int(sent["to"]))
        kind, count, dropped = str(sent["type"]), int(sent["entries"]), str(sent["dropped"])
        first, last = tuple(sent.get("first") or (0, 0)), tuple(sent.get("last") or (0, 0))
        summary = entries_summary(count, first[1], last[1])
        text = (f"{frm}->{to} {kind} Term:{sent['term']} "
                f"Log:{sent['log_term']}/{sent['index']}" +
                (" Rejected" if sent["reject"] else "") +
                (f" Commit:{sent['commit']}" if sent["commit"] else "") +
                (f" Entries: {summary}" if summary else ""))
        carried = tuple(rid for entry, rid in traced.items()
                        if count and first <= entry <= last)
        return MessageView(
            traffic_id(number, int(sent["seq"])), kind, frm, to,
            int(sent["term"]), int(sent["index"]), int(sent["log_term"]), int(sent["commit"]),
            summary, count, bool(sent["reject"]), text,
            MessageStatus.DROPPED if dropped else MessageStatus.SENT,
            int(sent["at"]) - self.origin_ms, note=drop_note(dropped, frm, to),
            request_ids=carried)


def traffic_id(number: int, seq: int) -> int:
    """Negative, one span per member, and rising with the member's numbering, so that
    messages sent within one millisecond still sort in the order they were sent."""
    return -(number + 1) * MESSAGE_ID_SPAN + seq % MESSAGE_ID_SPAN


def drop_note(reason: str, frm: int, to: int) -> str:
    """The gate's reason, with the nodes' numbers for its raft ids."""
    return f"link {frm}→{to} is cut" if reason.startswith("link ") else reason
