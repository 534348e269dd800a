"""The app on other drivers (fewer capabilities, a live clock) and how it keeps current:
wakes, coalesced refreshes, shutdown, histories read in the background, the top bar."""

from __future__ import annotations

import asyncio
import dataclasses
import time

from textual.widgets import RichLog
from textual.widgets._footer import FooterKey

from engine import observe as o
from engine.sim.backend import SimBackend
from raftviz.ui.app import REFRESH_HZ, RaftvizApp, build_sim
from raftviz.ui.screens.dialogs import CommandMenu, PartitionDialog
from raftviz.ui.widgets.bars import NoteBar, TopBar
from raftviz.ui.widgets.keyspace import KeyHistory
from raftviz.ui.widgets.requests import ClientPanel

from .ui_helpers import client, drive, elected_app, settle, view


# --- drivers with fewer capabilities, and live updates ---


class NoPartitions:
    """A backend that cannot cut links, like a real etcd cluster."""

    def __init__(self) -> None:
        self.inner = SimBackend(3, seed=1)
        self.views = 0
        self.keyspace_told: list[bool] = []

    @property
    def capabilities(self):
        return self.inner.capabilities - {o.Cap.PARTITION}

    def view(self):
        self.views += 1
        return self.inner.view()

    def execute(self, command):
        return self.inner.execute(command)

    def client(self, line, node=0):
        return self.inner.client(line, node)

    def key_history(self, key):
        return self.inner.key_history(key)

    def subscribe(self, callback):
        return self.inner.subscribe(callback)

    def show_keyspace(self, shown):
        self.keyspace_told.append(shown)


def test_unavailable_controls_are_shown_disabled_not_hidden():
    backend = NoPartitions()

    async def scenario(app, pilot):
        assert app.check_action("control", ("partition",)) is None
        await pilot.press("p")
        assert not isinstance(app.screen, PartitionDialog)
        assert app.controls.execute(o.Heal()).ok is False
    drive(scenario, app=RaftvizApp(backend))


def test_the_footer_shows_the_controls_that_work_first_and_the_rest_dimmed_after():
    backend = NoPartitions()

    def footer_actions(app) -> list[tuple[str, bool]]:
        return [(k.action, k.has_class("-disabled")) for k in app.query(FooterKey)
                if k.action.startswith("control(")]

    async def scenario(app, pilot):
        await pilot.pause()
        keys = footer_actions(app)
        assert ("control('partition')", True) in keys and ("control('heal')", True) in keys
        dimmed = [disabled for _, disabled in keys]
        assert dimmed == sorted(dimmed) and not dimmed[0]      # working ones, then the rest
        working = [action for action, disabled in keys if not disabled]
        assert working[:3] == ["control('play')", "control('tick')", "control('step')"]
    drive(scenario, app=RaftvizApp(backend))


def test_backend_pushes_are_coalesced():
    backend = NoPartitions()

    async def scenario(app, pilot):
        before, start = backend.views, time.monotonic()
        for _ in range(200):
            for callback in backend.inner.subscribers:
                callback()
            await asyncio.sleep(0.001)
        await pilot.pause(0.1)
        elapsed = time.monotonic() - start
        views = backend.views - before
        assert 1 <= views <= elapsed * REFRESH_HZ + 3 and views < 100
    drive(scenario, app=RaftvizApp(backend))


def test_the_backend_is_told_whether_a_tab_shows_the_keyspace():
    """A live backend keeps the keyspace current only while the keyspace tab (keys,
    leases, watches) or the requests tab (each request's revision and watch events) is
    shown: the app tells it when it opens and at every change of tab."""
    backend = NoPartitions()

    async def scenario(app, pilot):
        assert backend.keyspace_told == [False]         # it opens on the cluster tab
        for key, shown in (("3", True), ("4", True), ("2", False), ("1", False), ("4", True)):
            await pilot.press(key)
            await pilot.pause()
            assert backend.keyspace_told[-1] is shown, key
    drive(scenario, app=RaftvizApp(backend))


def test_opening_a_scenario_at_an_event(tmp_path):
    b = SimBackend(3, seed=4)
    for _ in range(12):
        b.execute(o.Tick())
    b.save(tmp_path / "x.scenario")
    backend = build_sim(scenario=tmp_path / "x.scenario", at_event=7)
    assert backend.view().event == 7 and backend.view().last_event == 12


def test_client_panel_reports_pending_answers_when_they_arrive():
    async def scenario(app, pilot):
        await client(pilot, "put k v")
        panel = app.query_one(ClientPanel)
        assert "r1" in panel.pending
        # In the box, t, s and space are text: the hint says how to get out first.
        shown = "".join(s.text for line in panel.query_one(RichLog).lines for s in line)
        assert "answered once it commits (Esc leaves the box; then t, s" in shown
        assert app.query_one(NoteBar).message == "r1 `put k v` sent to node 2: in progress."
        await settle(pilot, 2)
        assert not panel.pending
    drive(scenario)


class NoNews(NoPartitions):
    """Views without a driver's note, like a live cluster's while nobody commands it."""

    def view(self):
        return dataclasses.replace(super().view(), note="")


def test_the_note_stops_saying_in_progress_once_the_answer_arrives():
    backend = NoNews()
    for _ in range(30):                  # seed 1 elects its first leader by then
        backend.inner.execute(o.Tick())

    async def scenario(app, pilot):
        await client(pilot, "put k v")
        assert app.query_one(NoteBar).message == "r1 `put k v` sent to node 2: in progress."
        backend.inner.execute(o.Tick(2))         # time moves without a command
        app.session.mark_dirty()
        await pilot.pause(0.1)
        assert app.query_one(NoteBar).message == "r1 `put k v` sent to node 2: answered."
    drive(scenario, app=RaftvizApp(backend))


def test_clicking_a_node_card_offers_its_commands():
    async def scenario(app, pilot):
        await pilot.click("#card-3")
        assert isinstance(app.screen, CommandMenu)
        await pilot.press("enter")               # the first entry: crash, keeping the disk
        assert not view(app).node(3).up
        await pilot.click("#card-3")
        await pilot.press("enter")               # now the first entry is: restart
        assert view(app).node(3).up
    drive(scenario)


def test_clicking_a_row_of_the_narrow_node_table():
    async def scenario(app, pilot):
        await pilot.click("NodeTable", offset=(3, 2))
        assert isinstance(app.screen, CommandMenu)
        assert "Node 2" in str(app.screen.title_text)
    drive(scenario, size=(80, 24))


class FakeLive(NoPartitions):
    """A running cluster's driver: time is not ours to move, but it can be frozen."""

    def __init__(self) -> None:
        super().__init__()
        self.frozen = False

    @property
    def capabilities(self):
        return frozenset({o.Cap.PAUSE_WORLD, o.Cap.CLIENT, o.Cap.CRASH})

    def view(self):
        return dataclasses.replace(self.inner.view(), clock="live", paused=self.frozen,
                                   capabilities=self.capabilities)

    def execute(self, command):
        if isinstance(command, o.PauseWorld):
            self.frozen = command.paused
            return "The cluster is frozen." if command.paused else "The cluster runs again."
        return self.inner.execute(command)


def test_live_cluster_freezes_with_space_and_disables_time_controls():
    backend = FakeLive()

    async def scenario(app, pilot):
        assert app.check_action("control", ("tick",)) is None
        assert app.check_action("control", ("undo",)) is None
        await pilot.press("space")
        assert backend.frozen
        await pilot.pause(0.1)
        assert "frozen" in app.query_one(TopBar).render().plain
        await pilot.press("space")
        assert not backend.frozen
        await pilot.press("t")
        assert view(app).time == 0
    drive(scenario, app=RaftvizApp(backend))


def test_undo_forgets_answers_of_the_abandoned_timeline():
    async def scenario(app, pilot):
        await client(pilot, "put k v")
        panel = app.query_one(ClientPanel)
        assert panel.pending
        await pilot.press("u")
        assert not panel.pending and app.session.followed is None
        assert any("Undid" in line.text for line in app.query_one("#client-log").lines)
    drive(scenario)


def test_module_entry_point_passes_its_options(monkeypatch):
    from raftviz.ui import __main__ as entry
    seen = {}
    monkeypatch.setattr(entry, "run_sim", lambda *args, **kw: seen.update(args=args, kw=kw))
    entry.main(["--seed", "7", "--nodes", "5", "--at", "40", "--light"])
    assert seen["args"] == (7, 5, 40, None) and seen["kw"] == {"theme": "textual-light"}


def test_a_refresh_during_shutdown_leaves_the_pruned_widgets_alone():
    """The refresh timer may fire while shutdown is removing widgets bottom-up."""
    from raftviz.ui.widgets.keyspace import KeyTable
    app = elected_app()
    errors = []

    async def main() -> None:
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.pause()
            close_all = app._close_all

            async def pruning_then_refreshing() -> None:
                table = app.query_one(KeyTable)
                await table.query_one(".panel-title").remove()
                table.set_reactive(KeyTable.cluster, None)   # so the next view is news
                app.session.mark_dirty()
                try:
                    app.refresh_view()
                except Exception as exc:    # noqa: BLE001 - the test reports it below
                    errors.append(exc)
                await close_all()

            app._close_all = pruning_then_refreshing

    asyncio.run(main())
    assert errors == []


def test_a_key_history_refresh_after_its_panel_is_gone_does_nothing():
    async def scenario(app, pilot):
        await client(pilot, "put a 1")
        await settle(pilot)
        await pilot.press("3")
        panel = app.history_panel()
        assert panel is not None and panel.key == "a"
        await panel.remove()             # as shutdown prunes the widgets
        app.history_of = ()              # so the next view would re-read the history
        app.refresh_history(view(app))
        assert app.history_panel() is None
    drive(scenario)


def test_a_change_wakes_the_app_once_until_it_is_shown():
    app = elected_app()
    woken = []
    app.session.wake = lambda: woken.append(1)
    app.session.view()
    app.session.mark_dirty()
    app.session.mark_dirty()
    assert woken == [1]
    app.session.view()
    app.session.mark_dirty()
    assert woken == [1, 1]


def test_a_woken_app_shows_the_change_at_once_then_at_most_at_its_refresh_rate():
    async def scenario(app, pilot):
        shown = []
        show = app.show_view
        app.show_view = lambda v: (shown.append(v), show(v))
        await pilot.pause(2 / REFRESH_HZ)    # nothing left due from the start
        app.session.view()
        shown.clear()
        app.shown_at = 0.0                   # the last view shown long ago
        app.session.mark_dirty()      # as the backend's thread does: through the loop
        await pilot.pause()
        assert len(shown) == 1 and not app.refresh_due
        app.shown_at = time.monotonic()
        app.session.mark_dirty()      # again within 1/REFRESH_HZ: put off, not dropped
        await asyncio.sleep(0)
        assert len(shown) == 1 and app.refresh_due
        await pilot.pause(2 / REFRESH_HZ)
        assert len(shown) == 2 and not app.refresh_due
    drive(scenario)


def test_a_wake_arriving_after_the_timer_showed_the_change_schedules_nothing():
    async def scenario(app, pilot):
        await pilot.pause(2 / REFRESH_HZ)
        app.session.view()
        app.session.wake = lambda: None     # the wake is still on its way...
        app.session.mark_dirty()
        app.shown_at = 0.0
        app._tick()                         # ...when the refresh timer shows the change
        assert not app.session.unshown
        app.refresh_soon()                  # then it arrives
        assert not app.refresh_due
    drive(scenario)


def test_a_put_off_refresh_happens_though_textual_skips_a_late_one_shot_timer(monkeypatch):
    """Textual's one-shot timers skip their only tick when they first look at the clock
    after their deadline (a thread took the GIL in between, for a deadline a few ms
    away): a refresh put off on one of those never came, and the screen froze for good
    while the cluster ran on."""
    from textual.timer import Timer
    run = Timer._run

    async def skipping(timer):
        if timer._repeat == 0:
            return                             # the deadline had passed: no tick
        await run(timer)
    monkeypatch.setattr(Timer, "_run", skipping)

    async def scenario(app, pilot):
        shown = []
        show = app.show_view
        app.show_view = lambda v: (shown.append(v), show(v))
        await pilot.pause(2 / REFRESH_HZ)
        app.session.view()
        app.shown_at = time.monotonic()
        app.session.mark_dirty()               # within 1/REFRESH_HZ of the last view
        for _ in range(20):
            await pilot.pause(1 / REFRESH_HZ)
            if shown:
                break
        assert shown and not app.session.unshown
    drive(scenario)


def test_a_key_history_read_in_the_background_shows_when_it_arrives():
    """A live backend's first answer for a key may be empty (not read yet); the history it
    reads later shows with the next view, though the keyspace did not move."""
    class Later(NoPartitions):
        asked = 0

        def key_history(self, key):
            self.asked += 1
            return () if self.asked == 1 else self.inner.key_history(key)

    backend = Later()
    backend.inner = build_sim(seed=1, nodes=3, at_event=30)     # a leader elected

    async def scenario(app, pilot):
        await client(pilot, "put a 1")
        await settle(pilot)
        await pilot.press("3")                        # its cursor on "a" selects it
        await pilot.pause()
        history = app.query_one(KeyHistory)
        assert history.key == "a" and history.history == ()
        for callback in backend.inner.subscribers:    # the cache's change notice
            callback()
        await pilot.pause(2 / REFRESH_HZ)
        assert [h.value for h in history.history] == ["1"]
    drive(scenario, app=RaftvizApp(backend))


def test_the_top_bar_names_a_raised_alarm():
    async def scenario(app, pilot):
        bar = app.query_one(TopBar)
        assert "alarm" not in bar.render().plain
        bar.cluster = dataclasses.replace(view(app), alarms=(
            o.AlarmView(1, "NOSPACE"), o.AlarmView(2, "NOSPACE")))
        assert "⚠ alarm NOSPACE" in bar.render().plain
    drive(scenario)
