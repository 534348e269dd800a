"""The raftviz terminal app: layout, key bindings, and the loop that keeps it current.

The app is thin on purpose. Widgets draw from their own reactives; `Controls` decides what
each key does; `Session` talks to the backend. The app lays the widgets out in four tabs,
hands the widgets on screen the newest `ClusterView` as soon as the cluster changed, at
most 30 times a second (hidden tabs catch up when shown), runs "play" in simulated time,
and routes the widgets' messages.

Entry points for the command line: `run_sim(seed, nodes, at_event, scenario)` for the
simulator, `run_backend(backend)` for any other driver.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from pathlib import Path

from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Input, TabbedContent, TabPane

from engine import observe as o
from engine.observe import Backend, MessageStatus
from engine.sim.backend import SimBackend

from . import garbage
from . import messages as msg
from .actions import bindings
from .controls import Controls, sent_note
from .pace import asyncio_later
from .palette import ClusterCommands
from .quit_signals import QuitOnSignal
from .session import Outcome, Session
from .widgets.bars import ControlsFooter, Edge, NoteBar, TopBar
from .widgets.keyspace import KeyHistory, KeyTable, WatchesLeases
from .widgets.logs import LogGrid
from .widgets.nodes import NodeCards, NodeTable
from .widgets.requests import ClientPanel, RequestList, TraceView, followed_trace
from .widgets.timeline import Timeline
from .widgets.wire import MessageList, MessageTable

REFRESH_HZ = 30
# The tabs that show the keyspace: its keys, leases and watches, and the revision and the
# watch events each request led to. On the others a live backend need not keep them.
KEYSPACE_TABS = frozenset({"keyspace", "requests"})
FOLLOWERS = (LogGrid, MessageList, Timeline, TraceView, RequestList)
# Containers with no border, padding or words of their own: their children fill them, or
# leave only their background showing. Marked BLANK, Textual draws one blank line for all
# of theirs instead of styling each line, every frame (with the screen, 4% of a busy
# cluster tab's CPU; the tab bar and the row of cards, drawn whole whenever anything
# below them changes, 2% more).
FILLED = ("Edge, TabbedContent, ContentSwitcher, TabPane, ContentTabs, NodeCards, "
          "#cluster-body, #keyspace-body, #requests-body")
TAB_FOCUS = {"cluster": "#logs", "messages": "#wire MessageTable", "keyspace": "#keys",
             "requests": "RequestList"}


class RaftvizApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "raftviz"
    BINDINGS = bindings()
    COMMANDS = App.COMMANDS | {ClusterCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]

    def __init__(self, backend: Backend, *, theme: str | None = None) -> None:
        super().__init__()
        garbage.keep_strips_acyclic()     # discarded lines freed at once, not by the collector
        self.session = Session(backend)
        self.controls = Controls(self)
        self.play_timer: Timer | None = None
        self.history_of: tuple = ()
        self.parts_by_tab: dict[str | None, list[Widget]] | None = None
        self._history_panel: KeyHistory | None = None
        self.shown_at, self.refresh_due = 0.0, False
        self.last_note = ""
        self.last_capabilities: frozenset = frozenset()
        if theme:
            self.theme = theme

    def compose(self) -> ComposeResult:
        with Edge():
            yield TopBar()
        with TabbedContent(initial="cluster"):
            with TabPane("1 Cluster", id="cluster"):
                yield NodeCards()
                yield NodeTable()
                with Horizontal(id="cluster-body"):
                    yield LogGrid(id="logs")
                    yield MessageList(id="wire-side", stacked=True)
            with TabPane("2 Messages", id="messages"):
                yield MessageList(id="wire")
                yield Timeline()
            with TabPane("3 Keyspace", id="keyspace"):
                with Horizontal(id="keyspace-body"):
                    yield KeyTable()
                    with Vertical(id="key-side"):
                        yield KeyHistory()
                        yield WatchesLeases()
            with TabPane("4 Requests", id="requests"):
                with Horizontal(id="requests-body"):
                    yield ClientPanel()
                    with Vertical(id="trace-side"):
                        yield TraceView()
                        yield RequestList()
        with Edge():
            yield NoteBar()
        with Edge(classes="-footer"):
            yield ControlsFooter()

    def on_mount(self) -> None:
        for filled in [self.screen, *self.query(FILLED)]:
            filled.BLANK = True
        self.set_interval(1 / REFRESH_HZ, self._tick)
        loop, context = asyncio.get_running_loop(), contextvars.copy_context()
        # The backend wakes us from its own thread: run in the app's context (Textual's
        # timers look the app up there).
        self.session.wake = lambda: loop.call_soon_threadsafe(self.refresh_soon,
                                                              context=context)
        self.refresh_view()
        self.session.show_keyspace(self.keyspace_shown())
        self.show_note(self.session.view().note)
        if not self.is_headless:
            QuitOnSignal(lambda: loop.call_soon_threadsafe(self.exit),
                         getattr(self.session.backend, "close", None)).install()

    def on_unmount(self) -> None:
        self.session.wake = None
        self.session.close()

    # -- keeping the screen current --

    def refresh_view(self) -> None:
        # A tick of the refresh timer can land while shutdown is pruning the widgets.
        if self.is_running and self.session.unshown:
            self.show_view(self.session.view())

    def _tick(self) -> None:
        # Changes made here (commands, client lines) set the flag without waking anyone.
        if self.session.unshown:
            self.refresh_soon()

    def refresh_soon(self) -> None:
        """A change arrived (woken from the backend's thread): show it now, or as soon as
        REFRESH_HZ allows, rather than at the timer's next tick. A wake that arrives after
        the refresh timer already showed the change has nothing left to show."""
        if self.refresh_due or not self.session.unshown:
            return
        wait = self.shown_at + 1 / REFRESH_HZ - time.monotonic()
        if wait <= 0:
            self.refresh_view()
        else:
            # Not on a Textual timer (see asyncio_later): a refresh that never came would
            # leave refresh_due set, and the screen would stop for good.
            asyncio_later(wait, self._refresh_when_due)
            self.refresh_due = True

    def _refresh_when_due(self) -> None:
        self.refresh_due = False
        self.refresh_view()

    def show_view(self, view: o.ClusterView) -> None:
        self.shown_at, self.session.shown = time.monotonic(), view
        for widget in self.shown_parts():
            widget.cluster = view
        self.refresh_history(view)
        if view.note and view.note != self.last_note:
            # A driver's own news (a live membership change finishing, a violation
            # reached while replaying) reaches the note line too.
            self.last_note = view.note
            self.show_note(view.note)
        if view.capabilities != self.last_capabilities:
            self.last_capabilities = view.capabilities
            self.refresh_bindings()   # e.g. a frozen live cluster gains a manual clock

    def shown_parts(self) -> list[Widget]:
        """The view parts to feed: those outside the tabs and on the active tab (plus
        any that must keep up while hidden). Drawing hidden tabs for nobody cost a third
        of every frame under load; a tab's parts catch up when it is shown."""
        if self.parts_by_tab is None:
            self.parts_by_tab = {}
            for widget in self.query(".view-part"):
                pane = next((a for a in widget.ancestors if isinstance(a, TabPane)), None)
                hidden_too = pane is None or getattr(widget, "FED_WHEN_HIDDEN", False)
                tab = None if hidden_too else pane.id
                self.parts_by_tab.setdefault(tab, []).append(widget)
        active = self.query_one(TabbedContent).active
        return self.parts_by_tab.get(None, []) + self.parts_by_tab.get(active, [])

    def on_tabbed_content_tab_activated(self) -> None:
        # The view is taken (it may be news to every part), and the new tab catches up.
        if self.parts_by_tab is not None and self.is_running:
            self.session.show_keyspace(self.keyspace_shown())
            self.show_view(self.session.view())

    def keyspace_shown(self) -> bool:
        return self.query_one(TabbedContent).active in KEYSPACE_TABS

    def refresh_history(self, view: o.ClusterView) -> None:
        """Re-read the selected key's history only when the keyspace moved."""
        key = self.session.selected_key
        if key is None or self.history_of == (key, view.keyspace_node, view.revision,
                                              view.compact_revision):
            return
        panel = self.history_panel()
        if panel is None:
            return   # the screen is being torn down (a late key selection while quitting)
        history = self.session.key_history(key)
        # A live backend answers from a cache and reads the history in the background:
        # an empty answer may be "not read yet", so it is asked again at the next view.
        if history:
            self.history_of = (key, view.keyspace_node, view.revision, view.compact_revision)
        panel.key, panel.history = key, history

    def history_panel(self) -> KeyHistory | None:
        """The key history panel, looked up once (a query walks the whole screen, and a
        busy keyspace asks on every frame), and again once it was removed."""
        if self._history_panel is None or not self._history_panel.is_attached:
            found = self.query(KeyHistory)
            self._history_panel = found.first() if found else None
        return self._history_panel

    def show_note(self, text: str, error: bool = False) -> None:
        bar = self.query_one(NoteBar)
        bar.message, bar.error = text, error

    def history_moved(self, text: str) -> None:
        """Undo, redo or go-to: requests of the abandoned timeline no longer exist."""
        self.query_one(ClientPanel).history_moved(text)
        if self.session.followed and self.session.view().request(self.session.followed) is None:
            self.follow(None)

    def follow(self, request_id: str | None) -> None:
        self.session.followed = request_id
        for kind in FOLLOWERS:
            for widget in self.query(kind):
                widget.followed = request_id

    def show_heartbeats(self, on: bool) -> None:
        self.session.heartbeats = on
        for shows in (*self.query(Timeline), *self.query(MessageTable)):
            shows.heartbeats = on
        self.show_note("The timeline shows heartbeats." if on else
                       "Heartbeats are hidden from the timeline and from the messages a "
                       "live cluster sent (b shows them again).")

    # -- play (simulated time only) --

    def set_playing(self, on: bool) -> None:
        self.session.playing = on
        if self.play_timer is not None:
            self.play_timer.stop()
            self.play_timer = None
        if on:
            self.play_timer = self.set_interval(1 / self.session.speed, self.play_tick)
        self.query_one(TopBar).playing = on
        self.show_note(f"Playing at {self.session.speed} ticks a second." if on else
                       "Paused: time moves only when you tick or step.")

    def set_speed(self, speed: int) -> None:
        self.query_one(TopBar).speed = speed
        if self.session.playing:
            self.set_playing(True)
        else:
            self.show_note(f"Play speed: {speed} ticks a second.")

    def play_tick(self) -> None:
        outcome = self.session.execute(o.Tick())
        if not outcome.ok:
            self.set_playing(False)
            self.controls.tell(outcome)

    # -- actions --

    def action_control(self, name: str) -> None:
        self.controls.run(name)

    def action_show_tab(self, tab: str) -> None:
        # Let go of focus first: a focused widget in the old tab would pull it back.
        self.screen.set_focus(None)
        self.query_one(TabbedContent).active = tab
        self.call_after_refresh(self._focus_tab, tab)

    def _focus_tab(self, tab: str) -> None:
        for widget in self.query(TAB_FOCUS[tab]):
            if widget.focusable:
                widget.focus()
                return

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "control" and parameters:
            return True if self.controls.available(str(parameters[0])) else None
        return True

    def chosen_message(self) -> int | None:
        """The message under the cursor in the visible list, else the oldest held one."""
        tabs = self.query_one(TabbedContent)
        lists = self.query("#wire" if tabs.active == "messages" else "#wire-side")
        chosen = lists.first(MessageList).chosen() if lists else None
        if chosen is not None:
            return chosen
        held = [m for m in self.session.view().messages if m.status is MessageStatus.HELD]
        return held[0].id if held else None

    def focus_client(self) -> None:
        self.screen.set_focus(None)
        self.query_one(TabbedContent).active = "requests"
        self.call_after_refresh(self.query_one("#client-input", Input).focus)

    # -- what widgets ask for --

    def on_run_command(self, message: msg.RunCommand) -> None:
        self.controls.execute(message.command)

    def on_message_picked(self, message: msg.MessagePicked) -> None:
        command = o.Drop(message.msg_id) if message.drop else o.Deliver(message.msg_id)
        self.controls.execute(command)

    def on_client_line(self, message: msg.ClientLine) -> None:
        result = self.controls.client(message.line)
        panel = self.query_one(ClientPanel)
        if isinstance(result, Outcome):
            panel.refused(result.text)
        else:
            panel.sent(result, message.line)

    def on_request_answered(self, message: msg.RequestAnswered) -> None:
        # The note still saying "in progress" would contradict the answer beside it.
        m = message
        if self.query_one(NoteBar).message == sent_note(m.request_id, m.line, m.node, False):
            self.show_note(sent_note(m.request_id, m.line, m.node, answered=True))

    def on_follow_request(self, message: msg.FollowRequest) -> None:
        self.follow(message.request_id)
        trace = followed_trace(self.session.view(), message.request_id)
        if trace is not None and trace.path == "logged":
            self.show_note(f"Following entry {trace.index} ({trace.line}), sent by a client "
                           f"outside this window: its path is on the Requests tab (4).")

    def on_node_clicked(self, message: msg.NodeClicked) -> None:
        self.controls.node_menu(message.node_id)

    def on_key_selected(self, message: msg.KeySelected) -> None:
        self.session.selected_key = message.key
        self.refresh_history(self.session.view())


def build_sim(seed: int = 1, nodes: int = 3, at_event: int | None = None,
              scenario: str | Path | None = None) -> SimBackend:
    """A simulated cluster: from a scenario file (opened at `at_event`, default its end),
    or fresh from `seed`, advanced `at_event` ticks (one event each) if given."""
    if scenario is not None:
        return SimBackend.load(scenario, at=at_event)
    backend = SimBackend(nodes, seed)
    for _ in range(at_event or 0):
        backend.execute(o.Tick())
    return backend


def run_backend(backend: Backend, *, theme: str | None = None) -> None:
    garbage.tune_collector()
    RaftvizApp(backend, theme=theme).run()


def run_sim(seed: int = 1, nodes: int = 3, at_event: int | None = None,
            scenario: str | Path | None = None, *, theme: str | None = None) -> None:
    """`raftviz --sim [--seed S] [--nodes N] [--at EVENT] [--scenario FILE]`."""
    run_backend(build_sim(seed, nodes, at_event, scenario), theme=theme)
