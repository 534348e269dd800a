"""The follow view's table: when each node appended, committed and applied a request."""

from __future__ import annotations

from engine.observe import NodeTime, RequestTrace
from raftviz.ui.widgets.requests import stage_row


def trace(status: str, finished_at: int | None) -> RequestTrace:
    seen = tuple(NodeTime(n, t) for n, t in ((1, 1057), (2, 1040), (3, 1009)))
    return RequestTrace("r1", "put foo bar", node=1, proposed_at=1000, status=status,
                        finished_at=finished_at, appended=seen, committed=seen, applied=seen)


def cells(t: RequestTrace) -> list[str]:
    return [str(c) for c in stage_row(t, "applied", [1, 2, 3])[1:]]


def test_the_answering_member_did_each_step_by_its_answer_whatever_its_reports_say():
    assert cells(trace("done", 1011)) == ["≤+11ms", "+40ms", "+9ms"]


def test_without_a_successful_answer_the_reports_times_stand():
    assert cells(trace("failed", 1011)) == ["+57ms", "+40ms", "+9ms"]
    assert cells(trace("pending", None)) == ["+57ms", "+40ms", "+9ms"]
    assert cells(trace("done", 1060)) == ["+57ms", "+40ms", "+9ms"]
