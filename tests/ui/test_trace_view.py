"""The follow view's table: when each node appended, committed and applied a request."""

from __future__ import annotations

from rich.console import Console

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


# --- a request another client sent, followed from its entry --------------------------


def outside_view():
    """A simulated cluster where a watched put was committed, then seen as if a client
    outside the interface had sent it: no trace of ours, the revision from the logs."""
    from dataclasses import replace

    from engine import observe as o
    from raftviz.ui.app import build_sim

    backend = build_sim(seed=1, at_event=30)
    backend.client("watch k")
    rid = backend.client("put k v").request_id
    backend.execute(o.Tick(10))
    view = backend.view()
    revision = view.request(rid).revision

    def seen(e: o.EntryView) -> o.EntryView:
        return replace(e, request_id="8a2f", revision=revision) if e.request_id == rid else e
    logs = tuple(replace(lg, entries=tuple(map(seen, lg.entries))) for lg in view.logs)
    return replace(view, logs=logs, requests=()), revision


def test_an_entry_no_request_of_ours_made_is_followed_through_the_logs_to_its_watch():
    from raftviz.ui.widgets.requests import footnote, trace_summary

    view, revision = outside_view()
    trace = view.logged("8a2f")
    assert (trace.path, trace.status, trace.line, trace.revision) == (
        "logged", "done", "put k=v", revision)
    assert [t.node for t in trace.applied] == [n.id for n in view.nodes]
    assert trace.watch_events == (f"watch {view.watches[0].id} on node "
                                  f"{view.watches[0].node}: PUT k",)
    assert [str(c) for c in stage_row(trace, "committed", [1, 2, 3])[1:]] == ["✓"] * 3
    summary = [line.plain for line in trace_summary(trace)]
    assert "✓ committed" in summary[0] and "outside this window" in summary[1]
    assert summary[2] == f"entry index {trace.index}, term {trace.term}"
    assert footnote(trace, view).startswith("(✓: in that node's log now")
    assert view.logged("nobody") is None


def test_a_node_whose_log_lacks_the_entry_shows_no_step_for_it():
    from dataclasses import replace

    view, _ = outside_view()
    behind = view.logs[2]
    logs = view.logs[:2] + (replace(behind, entries=tuple(
        e for e in behind.entries if e.request_id != "8a2f")),)
    trace = replace(view, logs=logs).logged("8a2f")
    assert [t.node for t in trace.appended] == [view.logs[0].node, view.logs[1].node]
    assert str(stage_row(trace, "appended", [lg.node for lg in logs])[3]) == "·"


def test_an_outside_entry_that_left_every_log_tail_stays_shown_as_last_seen():
    from dataclasses import replace

    from raftviz.ui.widgets.requests import TraceView

    view, revision = outside_view()
    trace_view = TraceView()
    trace_view.cluster, trace_view.followed = view, "8a2f"
    assert trace_view.shown_trace() == (view.logged("8a2f"), False)
    scrolled = replace(view, logs=tuple(replace(lg, entries=()) for lg in view.logs))
    trace_view.cluster = scrolled
    trace, gone = trace_view.shown_trace()
    assert gone and trace.revision == revision and trace.line == "put k=v"
    console = Console(width=100, record=True)
    console.print(trace_view.render())
    assert "as last seen: no member's log tail shows it" in console.export_text()
    trace_view.followed = "r1"            # another request: no stale trace for it
    assert trace_view.shown_trace() == (scrolled.request("r1"), False)
