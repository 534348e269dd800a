"""Talking to the cluster and following one request all the way through it.

`ClientPanel` takes etcdctl-like lines and prints each answer with the node that served
it; a write's answer arrives only when the world has moved far enough for it to commit.
`TraceView` shows one request's path: the node that took it, its log index and term, when
each node appended, committed and applied it, the revision it made, the watch events it
fired and the answer. `RequestList` picks which request to follow.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input, RichLog

from engine.observe import CLIENT_HELP, ClientResult, ClusterView, RequestTrace

from ..format import delta, seconds
from ..messages import ClientLine, FollowRequest, RequestAnswered
from .rows import Column, RowGrid

STATUS = {"pending": "… pending", "done": "✓ done", "failed": "✗ failed"}


def answer_lines(rid: str, node: int, status: str, answer: str) -> Text:
    mark = {"done": "✓", "failed": "✗"}.get(status, "…")
    head = Text(f"  {mark} {rid} ", style="bold") + Text(f"node {node}  ", style="dim")
    return head + Text(answer.replace("\n", "\n      "))


class ClientPanel(Vertical):
    DEFAULT_CLASSES = "view-part"
    FED_WHEN_HIDDEN = True      # it writes the answers of pending requests to its log
    BINDINGS = [Binding("escape", "leave", "Leave the client box", show=False)]
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pending: dict[str, tuple[int, str]] = {}     # request id -> node, line
        self.hinted = False

    def compose(self) -> ComposeResult:
        yield Input(placeholder="put greeting hello · get greeting · help · Esc leaves",
                    id="client-input")
        yield RichLog(id="client-log", wrap=True, markup=False, min_width=20)

    def action_leave(self) -> None:
        self.screen.set_focus(None)

    @on(Input.Submitted, "#client-input")
    def _submitted(self, event: Input.Submitted) -> None:
        line = event.value.strip()
        event.input.value = ""
        if not line:
            return
        log = self.query_one(RichLog)
        log.write(Text(f"› {line}", style="bold"))
        if line == "help":
            log.write(Text(CLIENT_HELP, style="dim"))
            return
        self.post_message(ClientLine(line))

    def pending_hint(self) -> str:
        if self.app.session.view().clock == "live":
            return ": answered once it commits"
        return ": answered once it commits (Esc leaves the box; then t, s or space moves time)"

    def sent(self, result: ClientResult, line: str) -> None:
        """The app's report of what became of the last line."""
        log = self.query_one(RichLog)
        if result.status == "pending":
            self.pending[result.request_id] = result.node, line
            hint = "" if self.hinted else self.pending_hint()
            self.hinted = True
            log.write(Text(f"  … {result.request_id} → node {result.node}{hint}", style="dim"))
        else:
            log.write(answer_lines(result.request_id, result.node, result.status,
                                   result.answer))

    def history_moved(self, text: str) -> None:
        """Answers still awaited belong to the timeline just left: forget them."""
        self.pending.clear()
        self.query_one(RichLog).write(Text(f"  ↶ {text}", style="italic"))

    def refused(self, text: str) -> None:
        self.query_one(RichLog).write(Text(f"  ✗ {text}", style="bold"))

    def watch_cluster(self, view: ClusterView | None) -> None:
        if view is None or not self.pending:
            return
        for rid, (node, line) in list(self.pending.items()):
            trace = view.request(rid)
            if trace is not None and trace.status != "pending":
                del self.pending[rid]
                self.query_one(RichLog).write(
                    answer_lines(rid, node, trace.status, trace.answer))
                self.post_message(RequestAnswered(rid, line, node))


def stage_row(trace: RequestTrace, stage: str, nodes: list[int]) -> list[Text | str]:
    cells: list[Text | str] = [Text(stage, style="dim")]
    for node in nodes:
        t = trace.when(stage, node)
        if t is None:
            cells.append(Text("·", style="dim"))
        elif trace.path == "logged":       # seen, but not when: nobody here sent it
            cells.append("✓")
        elif proven_by_answer(trace, node, t):
            cells.append("≤" + delta(trace.finished_at, trace.proposed_at))
        else:
            cells.append(delta(t, trace.proposed_at))
    return cells


def proven_by_answer(trace: RequestTrace, node: int, seen_at: int) -> bool:
    """The member that answered a request through the log had appended, committed and
    applied it before answering; a live member's report showing a step later than the
    answer only says when the report came (at most 20 a second)."""
    return (node == trace.node and trace.status == "done" and trace.finished_at is not None
            and seen_at > trace.finished_at)


def trace_table(trace: RequestTrace, nodes: list[int]) -> Table:
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold")
    table.add_column("", no_wrap=True)
    for node in nodes:
        table.add_column(f"node {node}", no_wrap=True, justify="right")
    for stage in ("appended", "committed", "applied"):
        table.add_row(*stage_row(trace, stage, nodes))
    return table


PATHS = {"log": "through the Raft log", "read-index": "a linearizable read (ReadIndex)",
         "local": "served locally by the node"}
LOGGED_STATUS = {"done": "✓ committed", "pending": "… not committed yet"}
LIVE_TIMES = ("(times as the members' reports first showed each step, up to 20 reports a "
              "second; ≤ the answer: the member that answered had done it by then)")
LOGGED_MARKS = ("(✓: in that node's log now; when each step happened is known only for "
                "requests sent from here)")


def trace_summary(trace: RequestTrace) -> list[Text]:
    if trace.path == "logged":
        status, taken = LOGGED_STATUS[trace.status], Text(
            "sent by a client outside this window (etcdctl, another program); what the "
            "logs show now")
    else:
        took = f" in {trace.finished_at - trace.proposed_at} ms" if trace.finished_at else ""
        status, taken = STATUS[trace.status] + took, Text(
            f"taken by node {trace.node} at {seconds(trace.proposed_at)} · "
            f"{PATHS[trace.path]}")
    lines = [Text(f"{trace.id}  ", style="bold reverse") + Text(f" {trace.line}", style="bold")
             + Text(f"   {status}"), taken]
    if trace.path in ("log", "logged"):
        entry = f"index {trace.index}, term {trace.term}" if trace.index else "not in any log yet"
        lines.append(Text("entry ", style="dim") + Text(entry))
    elif trace.path == "read-index" and trace.index:
        lines.append(Text("read index ", style="dim") + Text(str(trace.index)))
    return lines


def footnote(trace: RequestTrace, view: ClusterView) -> str:
    """What the marks of the stage table mean, where that is not plain."""
    if trace.path == "logged":
        return LOGGED_MARKS
    return LIVE_TIMES if trace.path == "log" and view.clock == "live" else ""


def followed_trace(view: ClusterView | None, followed: str | None) -> RequestTrace | None:
    """A request sent from here, else one another client sent that a log shows."""
    if view is None or followed is None:
        return None
    return view.request(followed) or view.logged(followed)


class TraceView(Widget):
    DEFAULT_CLASSES = "view-part"
    cluster: reactive[ClusterView | None] = reactive(None, layout=True)
    followed: reactive[str | None] = reactive(None, layout=True)

    def __init__(self) -> None:
        super().__init__()
        self.last_logged: RequestTrace | None = None   # another client's, as last seen

    def shown_trace(self) -> tuple[RequestTrace | None, bool]:
        """The followed request, and whether it is another client's entry as last seen:
        under load an entry leaves every member's log tail within a second."""
        trace = followed_trace(self.cluster, self.followed)
        if trace is not None and trace.path == "logged":
            self.last_logged = trace
        if trace is None and self.last_logged is not None \
                and self.last_logged.id == self.followed:
            return self.last_logged, True
        return trace, False

    def render(self) -> Text | Table:
        view, (trace, gone) = self.cluster, self.shown_trace()
        if view is None or trace is None:
            return Text("Send a request from the client box (/) and follow its path here: "
                        "proposal, log entry, commit and apply on every node, revision, "
                        "watch events, answer. [ and ] move between requests; Enter on an "
                        "entry in a log follows a request another client sent.",
                        style="dim")
        grid = Table.grid()
        grid.add_column()
        for line in trace_summary(trace):
            grid.add_row(line)
        if trace.path in ("log", "logged"):
            grid.add_row(trace_table(trace, [n.id for n in view.nodes]))
        note = footnote(trace, view)
        if note:
            grid.add_row(Text(note, style="dim italic"))
        if gone:
            grid.add_row(Text("(as last seen: no member's log tail shows it any more)",
                              style="bold"))
        if trace.revision:
            grid.add_row(Text("revision ", style="dim") + Text(str(trace.revision)))
        for event in trace.watch_events:
            grid.add_row(Text("watch    ", style="dim") + Text(event))
        if trace.answer:
            grid.add_row(Text("answer   ", style="dim") + Text(trace.answer))
        return grid


class RequestList(RowGrid):
    """Every request, newest first; the cursor is on the one followed."""
    DEFAULT_CLASSES = "view-part"
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)
    followed: reactive[str | None] = reactive(None, repaint=False)

    def on_mount(self) -> None:
        self.set_columns([Column("id", "id"), Column("line", "request"),
                          Column("node", "node"), Column("status", "status")])

    def watch_cluster(self, old: ClusterView | None, view: ClusterView | None) -> None:
        if view is None or (old is not None and old.requests == view.requests):
            return
        self.set_rows((r.id, (r.id, r.line, str(r.node), STATUS[r.status]))
                      for r in reversed(view.requests))
        self.watch_followed(self.followed)

    def watch_followed(self, followed: str | None) -> None:
        if followed is not None and followed in self.keys and followed != self.cursor_key:
            self.move_cursor(row=self.row_index(followed))

    def on_row_grid_selected(self, event: RowGrid.Selected) -> None:
        event.stop()
        self.post_message(FollowRequest(event.row_key))
