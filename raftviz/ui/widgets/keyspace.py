"""The keyspace: keys with their revisions, one key's history, and the watches and leases.

The table shows one node's keyspace (the leader's when there is one) with the store's
current and compacted revision. Choosing a key shows every change still kept for it.
The side panel lists watches (with the events they received and the request behind each)
and leases, whose remaining time counts down on the leader's clock.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget

from engine.observe import ClusterView, KeyRevision, LeaseView, WatchView

from ..format import plural
from ..messages import KeySelected
from .bars import TextLine
from .rows import Column, RowGrid


def lease_text(lease_id: int) -> str:
    return format(lease_id, "x") if lease_id else ""


class KeyTable(Vertical):
    DEFAULT_CLASSES = "view-part"
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)

    def compose(self) -> ComposeResult:
        yield TextLine(classes="panel-title")
        yield RowGrid(id="keys")

    def on_mount(self) -> None:
        self.query_one(RowGrid).set_columns([
            Column(key, label) for label, key in (
                ("key", "key"), ("value", "value"), ("create", "create"), ("mod", "mod"),
                ("ver", "version"), ("lease", "lease"))])

    def watch_cluster(self, old: ClusterView | None, view: ClusterView | None) -> None:
        if view is None:
            return
        self.query_one(".panel-title", TextLine).show(self.title(view))
        if old is not None and old.keyspace == view.keyspace:
            return
        self.query_one(RowGrid).set_rows(
            (k.key, (Text(k.key, style="bold"), k.value, str(k.create_revision),
                     str(k.mod_revision), str(k.version), lease_text(k.lease)))
            for k in view.keyspace)

    def title(self, view: ClusterView) -> Text:
        if not view.keyspace_node:
            return Text("No node is running: no keyspace to show.", style="bold")
        text = Text(f"node {view.keyspace_node}'s keyspace", style="bold")
        text.append(f" · revision {view.revision}")
        compacted = view.compact_revision or "—"
        shown = len(view.keyspace)
        total = max(view.key_count, shown)
        text.append(f" · compacted {compacted} · {plural(total, 'key')}", style="dim")
        if total > shown:
            text.append(f", the first {shown} shown", style="dim")
        return text

    def selected(self) -> str | None:
        return self.query_one(RowGrid).cursor_key

    def on_row_grid_highlighted(self, event: RowGrid.Highlighted) -> None:
        self.post_message(KeySelected(event.row_key))


class KeyHistory(Widget):
    """The selected key's kept changes, newest first, as many as fit: a busy key has
    thousands, and laying out every one on each change cost more than the whole table."""
    key: reactive[str | None] = reactive(None)
    history: reactive[tuple[KeyRevision, ...]] = reactive(())

    def render(self) -> Text:
        if self.key is None:
            return Text("Choose a key to see its history.", style="dim")
        lines = [Text(f"History of {self.key}", style="bold underline")]
        room = max(1, self.content_region.height - 1)
        shown = self.history if len(self.history) <= room else self.history[:room - 1]
        digits = max((len(str(h.revision)) for h in shown), default=0)
        for h in shown:
            line = Text(f"@{h.revision:<{max(3, digits)}} ", style="dim")
            if h.event == "put":
                line.append(f"put {h.value}")
                line.append(f"  v{h.version} · created @{h.create_revision}", style="dim")
            else:
                line.append("deleted", style="bold")
            lines.append(line)
        if len(shown) < len(self.history):
            older = len(self.history) - len(shown)
            lines.append(Text(f"… {plural(older, 'older change')}", style="dim"))
        if not self.history:
            lines.append(Text("no changes kept (compacted away)", style="dim"))
        return Text("\n").join(lines)


def watch_lines(watches: tuple[WatchView, ...]) -> list[Text]:
    if not watches:
        return [Text("none · type: watch KEY [--prefix]", style="dim")]
    lines = []
    for w in watches:
        if w.client:
            lines += client_watch_lines(w)
            continue
        state = "canceled" if w.canceled else plural(w.total_events, "event")
        if w.compact_revision:
            state += f" (compacted at {w.compact_revision})"
        line = Text(f"{w.id} ", style="bold") + Text(f"{w.target} on node {w.node} · {state}")
        lines += [line] + event_lines(w)
    return lines


def event_lines(w: WatchView) -> list[Text]:
    lines = []
    for e in w.events[-3:]:
        who = f" ({e.request_id})" if e.request_id else ""
        value = f"={e.value}" if e.event == "PUT" else ""
        lines.append(Text(f"   @{e.revision} {e.event} {e.key}{value}{who}", style="dim"))
    return lines


def client_watch_lines(w: WatchView) -> list[Text]:
    """A watcher another client opened (etcdctl, an application): where it stands in
    revisions, as its member reports it."""
    # Short lines: the panel is a narrow column beside the keyspace.
    line = Text(f"{w.target} on node {w.node} · ") + \
        Text(f"sent up to @{w.position}", style="bold")
    filters = f" · {' '.join(w.filters)}" if w.filters else ""
    return [line, Text(f"   from @{w.start_revision} · {plural(w.total_events, 'event')} · "
                       f"its watch {w.id}{filters}"),
            Text(f"   {w.client}", style="dim")] + event_lines(w)


def lease_lines(leases: tuple[LeaseView, ...]) -> list[Text]:
    if not leases:
        return [Text("none · type: lease grant TTL", style="dim")]
    lines = []
    for lease in leases:
        line = Text(f"{lease.hex_id} ", style="bold") + Text(f"TTL {lease.ttl}s  ")
        if lease.remaining is None:
            line.append("clock stopped: no leader", style="italic")
        else:
            filled = round(10 * lease.remaining / max(1, lease.ttl))
            line.append("▮" * filled + "▯" * (10 - filled) + f" {lease.remaining}s left")
        lines.append(line)
        keys = ", ".join(lease.keys) if lease.keys else "no keys"
        lines.append(Text(f"   keys: {keys}", style="dim"))
    return lines


class WatchesLeases(Widget):
    DEFAULT_CLASSES = "view-part"
    cluster: reactive[ClusterView | None] = reactive(None, repaint=False)

    def watch_cluster(self, old: ClusterView | None, view: ClusterView | None) -> None:
        # Most views change neither (a busy keyspace): repaint only when one did.
        def shown(v: ClusterView) -> tuple:
            return v.watches, v.unlisted_watches, v.leases
        if old is None or view is None or shown(old) != shown(view):
            self.refresh()

    def render(self) -> Text:
        view = self.cluster
        if view is None:
            return Text("")
        lines = [Text("Watches", style="bold underline")] + watch_lines(view.watches)
        if view.unlisted_watches:
            lines.append(Text(f"and {view.unlisted_watches} more, not listed by their "
                              "nodes", style="dim"))
        lines += [Text(""), Text("Leases", style="bold underline")] + lease_lines(view.leases)
        return Text("\n").join(lines)
