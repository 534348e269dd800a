"""What each control does: ask a question if needed, then send the command and say why.

`Controls.run(name)` is the one entry for keys, the palette and the mouse. Controls that
need a node or numbers open a dialog (screens/dialogs.py) and finish in its callback.
Every result is told twice: on the note line, and as a notification for faults, so a
crash or a partition always comes with its plain-language explanation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from engine import observe as o
from engine.observe import Cap, ClientResult, CrashMode, NodeView

from .actions import BY_NAME
from .format import picker_label
from .palette import commands_for
from .screens.dialogs import (
    Choice, CommandMenu, Field, FormDialog, NodePicker, PartitionDialog,
)
from .screens.help import HelpScreen
from .session import Outcome

if TYPE_CHECKING:
    from .app import RaftvizApp

FAULTS = (o.Crash, o.Restart, o.Partition, o.Heal, o.PauseNode, o.SkewClock,
          o.TransferLeader, o.AddLearner, o.Promote, o.RemoveMember, o.SetNetwork,
          o.SetDisk, o.Campaign)
CRASH_MODES = [(CrashMode.KEEP_DISK.value, "process crash: the disk keeps what it wrote"),
               (CrashMode.LOSE_UNSYNCED.value, "power loss: writes not yet fsynced are lost"),
               (CrashMode.TORN.value, "power cut mid-write: the last WAL record is torn, "
                "cut off at restart"),
               (CrashMode.WIPE.value, "disk wiped: back with nothing at all")]
SKEWS = [("200", "twice as fast (200%)"), ("400", "four times as fast (400%)"),
         ("50", "half speed (50%)"), ("100", "back to normal (100%)")]


class Controls:
    def __init__(self, app: RaftvizApp) -> None:
        self.app = app
        self.session = app.session

    # -- entry points --

    def available(self, name: str) -> bool:
        if name == "play":
            return self.session.has(Cap.MANUAL_CLOCK) or self.session.has(Cap.PAUSE_WORLD)
        control = BY_NAME[name]
        return control.cap is None or self.session.has(control.cap)

    def run(self, name: str) -> None:
        if not self.available(name):
            self.app.notify(f"{BY_NAME[name].title} is not available with this cluster.",
                            severity="warning")
            return
        getattr(self, "do_" + name)()

    def execute(self, command: o.Command) -> Outcome:
        outcome = self.session.execute(command)
        self.said_for_the_driver()
        self.tell(outcome, fault=isinstance(command, FAULTS))
        if outcome.ok and isinstance(command, (o.Undo, o.Redo, o.GoTo)):
            self.app.history_moved(outcome.text)
        return outcome

    def tell(self, outcome: Outcome, fault: bool = False) -> None:
        self.app.show_note(outcome.text, error=not outcome.ok)
        if not outcome.ok:
            self.app.notify(outcome.text, severity="warning", timeout=4)
        elif fault:
            self.app.notify(outcome.text, timeout=6)

    def said_for_the_driver(self) -> None:
        """Whatever note the driver holds now, what the app is about to say of the same
        action replaces it: an undo names what it undid, where the driver's note is that
        of the event it went back to. Only a later note of the driver's own is news.
        (Reading the session's view here hides nothing from the widgets: see
        Session.unshown; the refresh then shows this same view instead of building one.)"""
        self.app.last_note = self.session.view().note

    def client(self, line: str) -> ClientResult | Outcome:
        result = self.session.client(line)
        self.said_for_the_driver()
        if isinstance(result, Outcome):
            self.tell(result)
        else:
            self.app.show_note(sent_note(result.request_id, line, result.node,
                                         answered=result.status != "pending"))
            self.app.follow(result.request_id)
        return result

    def node_menu(self, node_id: int) -> None:
        """What can be done to one node, as a menu (a click on its card opens it)."""
        view = self.session.view()
        node = view.node(node_id)
        if node is None:
            return
        entries = [(title, cmd) for title, cmd in commands_for(view, node)
                   if self.session.has(cmd.cap)]
        if not entries:
            self.tell(Outcome(False, f"Nothing can be done to node {node_id} now."))
            return

        def done(index: int | None) -> None:
            if index is not None:
                self.execute(entries[index][1])
        self.app.push_screen(CommandMenu(f"Node {node_id}: {node.state_text}",
                                         [title for title, _ in entries]), done)

    # -- helpers --

    def nodes(self) -> tuple[NodeView, ...]:
        return self.session.view().nodes

    def pick(self, title: str, explain: str, ok: Callable[[NodeView], bool],
             then: Callable[[int, str | None], None],
             options: list[tuple[str, str]] | None = None) -> None:
        choices = [Choice(n.id, picker_label(n), ok(n)) for n in self.nodes()]
        if not any(c.enabled for c in choices):
            self.tell(Outcome(False, f"{title}: no node qualifies right now."))
            return

        def done(result: tuple[int, str | None] | None) -> None:
            if result is not None:
                then(*result)
        self.app.push_screen(NodePicker(title, explain, choices, options), done)

    def form(self, title: str, explain: str, fields: list[Field],
             then: Callable[[dict], Outcome], ok: str = "OK") -> None:
        """`then` acts on the values; if it was refused, the form stays open saying why."""
        def submit(values: dict) -> str | None:
            outcome = then(values)
            return None if outcome.ok else outcome.text
        self.app.push_screen(FormDialog(title, explain, fields, ok, submit))

    # -- time --

    def do_play(self) -> None:
        # A live cluster's clock is its own: space freezes and unfreezes it (while frozen
        # it offers a manual clock, but playing that would only be a slower live run).
        if self.session.view().clock != "live" and self.session.has(Cap.MANUAL_CLOCK):
            self.app.set_playing(not self.session.playing)
        else:
            self.do_freeze_world()

    def do_tick(self) -> None:
        self.execute(o.Tick())

    def do_step(self) -> None:
        self.execute(o.Step())

    def do_faster(self) -> None:
        self.app.set_speed(self.session.faster())

    def do_slower(self) -> None:
        self.app.set_speed(self.session.slower())

    def do_freeze_world(self) -> None:
        self.execute(o.PauseWorld(not self.session.view().paused))

    # -- messages --

    def do_hold(self) -> None:
        self.execute(o.Hold(not self.session.view().network.hold))

    def do_deliver(self) -> None:
        msg_id = self.app.chosen_message()
        if msg_id is None:
            self.tell(Outcome(False, "No message is waiting."))
        else:
            self.execute(o.Deliver(msg_id))

    def do_drop(self) -> None:
        msg_id = self.app.chosen_message()
        if msg_id is None:
            self.tell(Outcome(False, "No message is waiting."))
        else:
            self.execute(o.Drop(msg_id))

    def do_deliver_all(self) -> None:
        self.execute(o.DeliverAll())

    # -- network and disk --

    def do_partition(self) -> None:
        nodes = [n.id for n in self.nodes()]
        self.app.push_screen(PartitionDialog(nodes), lambda links: links and self.execute(
            o.Partition(links)))

    def do_heal(self) -> None:
        self.execute(o.Heal())

    def do_network(self) -> None:
        net = self.session.view().network
        fields = [Field("min_delay", "min delay (ms)", str(net.min_delay)),
                  Field("max_delay", "max delay (ms)", str(net.max_delay)),
                  Field("drop", "drop (%)", f"{net.drop_rate * 100:g}", float),
                  Field("dup", "duplicate (%)", f"{net.duplicate_rate * 100:g}", float),
                  Field("reorder", "reorder (1 yes, 0 no)", str(int(net.reorder))),
                  Field("fsync", "fsync (ms)", str(net.fsync_ms))]
        self.form("Network and disk", "Each message takes a delay drawn between min and "
                  "max; some may be lost or doubled. A slow fsync delays every reply.",
                  fields, self._network_done, ok="Apply")

    def _network_done(self, v: dict) -> Outcome:
        outcome = self.execute(o.SetNetwork(v["min_delay"], v["max_delay"], v["drop"] / 100,
                                            v["dup"] / 100, bool(v["reorder"])))
        if outcome.ok and v["fsync"] != self.session.view().network.fsync_ms:
            outcome = self.execute(o.SetDisk(v["fsync"]))
        return outcome

    # -- nodes --

    def do_crash(self) -> None:
        self.pick("Crash a node", "Choose how it fails, then which node.",
                  lambda n: n.up and not n.removed,
                  lambda node, mode: self.execute(o.Crash(node, CrashMode(mode))),
                  CRASH_MODES)

    def do_restart(self) -> None:
        self.pick("Restart a node", "It boots from whatever its disk holds.",
                  lambda n: not n.up and not n.removed,
                  lambda node, _: self.execute(o.Restart(node)))

    def do_pause_node(self) -> None:
        self.pick("Freeze or thaw a node", "A frozen node neither ticks nor reads its "
                  "messages; thawing it lets them land.", lambda n: n.up,
                  lambda node, _: self.execute(o.PauseNode(
                      node, not self.session.view().node(node).paused)))

    def do_skew(self) -> None:
        self.pick("Skew a node's clock", "Pick a rate, then the node.", lambda n: not n.removed,
                  lambda node, rate: self.execute(o.SkewClock(node, int(rate))), SKEWS)

    def do_campaign(self) -> None:
        self.pick("Start an election", "The node campaigns now (pre-vote first).",
                  lambda n: n.up and n.voter and not n.is_leader,
                  lambda node, _: self.execute(o.Campaign(node)))

    def do_transfer(self) -> None:
        self.pick("Transfer leadership", "The leader brings the node up to date, then "
                  "tells it to campaign at once.",
                  lambda n: n.voter and not n.is_leader and not n.removed,
                  lambda node, _: self.execute(o.TransferLeader(node)))

    # -- membership and storage --

    def do_add_learner(self) -> None:
        self.execute(o.AddLearner())

    def do_promote(self) -> None:
        self.pick("Promote a learner", "It becomes a voter when the change commits.",
                  lambda n: n.learner and n.up, lambda node, _: self.execute(o.Promote(node)))

    def do_remove(self) -> None:
        self.pick("Remove a member", "The change goes through the log like any other.",
                  lambda n: not n.removed, lambda node, _: self.execute(o.RemoveMember(node)))

    def do_snapshot(self) -> None:
        self.pick("Snapshot a node", "Entries up to its applied index fold into a snapshot.",
                  lambda n: n.up and not n.removed,
                  lambda node, _: self.execute(o.Snapshot(node)))

    def do_compact(self) -> None:
        view = self.session.view()
        self.form("Compact the keyspace", f"History below the revision is dropped; reads "
                  f"and watches there fail. Now at revision {view.revision}, compacted at "
                  f"{view.compact_revision}.", [Field("rev", "revision", str(view.revision))],
                  lambda v: self.execute(o.Compact(v["rev"])), ok="Compact")

    def do_defrag(self) -> None:
        self.pick("Defragment a database", "The file shrinks to the live data; keys are "
                  "untouched.", lambda n: n.up and not n.removed,
                  lambda node, _: self.execute(o.Defrag(node)))

    # -- history --

    def do_undo(self) -> None:
        self.execute(o.Undo())

    def do_redo(self) -> None:
        self.execute(o.Redo())

    def do_goto(self) -> None:
        view = self.session.view()
        self.form("Go to event", f"Any event from 0 to {view.last_event}; you are at "
                  f"{view.event}.", [Field("event", "event", str(view.event))],
                  lambda v: self.execute(o.GoTo(v["event"])), ok="Go")

    def do_save(self) -> None:
        save = getattr(self.session.backend, "save", None)
        if save is None:
            self.tell(Outcome(False, "This cluster cannot be saved as a scenario."))
            return
        name = f"raftviz-seed{self.session.view().seed}.scenario"
        self.form("Save scenario", "The seed and every command, one per line; open it "
                  "again with raftviz --sim --scenario FILE.",
                  [Field("path", "file", name, str)],
                  lambda v: self._saved(save, v["path"]), ok="Save")

    def _saved(self, save: Callable[[str], str], path: str) -> Outcome:
        try:
            outcome = Outcome(True, save(path))
        except OSError as exc:
            outcome = Outcome(False, f"Could not save to {path}: {exc.strerror or exc}.")
        self.tell(outcome)
        return outcome

    # -- view --

    def do_client(self) -> None:
        self.app.focus_client()

    def do_follow(self) -> None:
        requests = self.session.view().requests
        if not requests:
            self.tell(Outcome(False, "No request yet: type one in the client box (/)."))
            return
        self.app.follow(requests[-1].id)

    def do_follow_prev(self) -> None:
        self._follow_step(-1)

    def do_follow_next(self) -> None:
        self._follow_step(+1)

    def _follow_step(self, delta: int) -> None:
        ids = [r.id for r in self.session.view().requests]
        if not ids:
            return
        current = self.session.followed
        at = ids.index(current) if current in ids else len(ids)
        self.app.follow(ids[max(0, min(len(ids) - 1, at + delta))])

    def do_heartbeats(self) -> None:
        self.app.show_heartbeats(not self.session.heartbeats)

    def do_theme(self) -> None:
        dark = self.app.current_theme.dark
        self.app.theme = "textual-light" if dark else "textual-dark"

    def do_help(self) -> None:
        # A screen with keys of its own (a lesson's) lists them as HELP_KEYS.
        screen = self.app.screen
        self.app.push_screen(HelpScreen(self.available, getattr(screen, "HELP_KEYS", ()),
                                        getattr(screen, "HELP_TITLE", "")))


def sent_note(request_id: str, line: str, node: int, answered: bool) -> str:
    """In the drivers' own words (engine.sim.ui_control, live_commands)."""
    state = "answered" if answered else "in progress"
    return f"{request_id} `{line}` sent to node {node}: {state}."
