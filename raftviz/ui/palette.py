"""The command palette (ctrl+p): every control by name, plus direct per-node commands.

Besides "Crash a node…" (which asks which one), the palette offers the finished
sentences, "Crash node 2 (keep disk)", "Restart node 3", "Transfer leadership to 1", so a
teacher can drive the cluster by typing what they mean.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider

from engine import observe as o
from engine.observe import ClusterView, CrashMode, NodeView

from .actions import CONTROLS, key_text

if TYPE_CHECKING:
    from .app import RaftvizApp


def node_commands(view: ClusterView) -> Iterator[tuple[str, o.Command]]:
    for n in view.nodes:
        yield from commands_for(view, n)


def commands_for(view: ClusterView, n: NodeView) -> Iterator[tuple[str, o.Command]]:
    """Everything one can do to one node right now, as finished sentences."""
    if n.removed:
        return
    if n.up:
        for mode in CrashMode:
            yield f"Crash node {n.id} ({mode.value})", o.Crash(n.id, mode)
        verb = "Thaw" if n.paused else "Freeze"
        yield f"{verb} node {n.id}", o.PauseNode(n.id, not n.paused)
        yield f"Snapshot node {n.id}", o.Snapshot(n.id)
        yield f"Defragment node {n.id}", o.Defrag(n.id)
    else:
        yield f"Restart node {n.id}", o.Restart(n.id)
    if n.voter and not n.is_leader:
        yield f"Transfer leadership to node {n.id}", o.TransferLeader(n.id)
        yield f"Start an election on node {n.id}", o.Campaign(n.id)
    if n.learner:
        yield f"Promote learner {n.id}", o.Promote(n.id)
    others = tuple(m.id for m in view.nodes if m.id != n.id and not m.removed)
    if others:
        yield f"Isolate node {n.id}", o.Partition.groups((n.id,), others)
    yield f"Remove node {n.id}", o.RemoveMember(n.id)


class ClusterCommands(Provider):
    @property
    def raftviz(self) -> RaftvizApp:
        return self.app  # type: ignore[return-value]

    def entries(self) -> Iterator[tuple[str, str, object]]:
        app = self.raftviz
        for c in CONTROLS:
            if app.controls.available(c.name):
                yield c.title, f"{c.help} ({key_text(c)})", partial(app.controls.run, c.name)
        view = app.session.view()
        for title, command in node_commands(view):
            if app.session.has(command.cap):
                yield title, "", partial(app.controls.execute, command)

    async def discover(self) -> Hits:
        for title, help_text, run in self.entries():
            yield DiscoveryHit(title, run, help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self.entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, text=title,
                          help=help_text or None)
