"""Pilot tests: every control of the app and its frame (time, network, nodes, history,
help, themes, tabs, layouts), on a deterministic simulated cluster. The messages and the
timeline are in test_ui_messages, the data views (requests, keyspace, log grid) in
test_ui_data_views."""

from __future__ import annotations

import dataclasses
import re

import pytest
from rich.segment import Segment
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, TabbedContent

from engine import observe as o
from engine.sim.backend import SimBackend
from raftviz.ui.app import RaftvizApp
from raftviz.ui.screens.dialogs import FormDialog, NodePicker, PartitionDialog, TickBox
from raftviz.ui.screens.help import HelpScreen
from raftviz.ui.widgets.bars import TextLine, TopBar
from raftviz.ui.widgets.nodes import NodeCard, NodeCards, followers_text
from raftviz.ui.widgets.timeline import TimelineBody

from .ui_helpers import client, drive, elected_app, note, settle, view


# --- time ---


def test_tick_and_step_move_time():
    async def scenario(app, pilot):
        start = view(app)
        await pilot.press("t")
        assert view(app).time == start.time + 100
        await pilot.press("s")
        assert view(app).event == start.event + 2
        assert "t=" in note(app)
    drive(scenario)


def test_play_pause_and_speed():
    async def scenario(app, pilot):
        await pilot.press("plus", "plus")
        assert app.query_one(TopBar).speed == 20
        await pilot.press("minus")
        assert app.session.speed == 10
        start = view(app).time
        await pilot.press("space")
        assert app.session.playing
        await pilot.pause(0.5)
        await pilot.press("space")
        assert not app.session.playing and view(app).time > start
    drive(scenario)


def test_the_top_bar_repaints_only_when_its_words_change():
    """A live view changes every frame; the top line repaints only when it reads
    otherwise, or every screen update would span from the top line down."""
    async def scenario(app, pilot):
        bar, repaints = app.query_one(TopBar), []
        bar.refresh = lambda *a, **k: repaints.append(1)
        live = dataclasses.replace(view(app), clock="live", time=1_200)
        bar.cluster = live
        bar.cluster = dataclasses.replace(live, time=9_900, event=live.event + 5)
        assert len(repaints) == 1 and "t=" not in bar.render().plain
        bar.cluster = dataclasses.replace(live, paused=True)
        assert len(repaints) == 2 and "frozen" in bar.render().plain
    drive(scenario)


def test_the_message_lists_mode_line_is_rewritten_only_when_it_reads_otherwise():
    from raftviz.ui.widgets.bars import TextLine
    from raftviz.ui.widgets.wire import MessageList

    async def scenario(app, pilot):
        wire = app.query_one("#wire-side", MessageList)
        mode, written = wire.query_one(".wire-mode", TextLine), []
        mode.refresh = lambda *a, **k: written.append(mode.text.plain)
        v = view(app)
        wire.cluster = dataclasses.replace(v, time=v.time + 100, event=v.event + 1)
        assert written == []           # the same counts and keys: the same line
        wire.cluster = dataclasses.replace(v, network=dataclasses.replace(v.network, hold=True))
        assert len(written) == 1 and "held" in written[0]
    drive(scenario)


# --- network ---


def test_partition_dialog_isolates_and_heal_restores():
    async def scenario(app, pilot):
        await pilot.press("p")
        assert isinstance(app.screen, PartitionDialog)
        await pilot.press("1")
        await pilot.pause()
        marks = [box.render().plain[1] for box in app.screen.query(TickBox)]
        assert marks == ["X", " ", " "]       # ticked by a mark, not by colour alone
        await pilot.press("enter")
        assert view(app).network.cuts == ((1, 2), (1, 3), (2, 1), (3, 1))
        assert "Cut 1↔2, 1↔3" in note(app)
        await pilot.press("H")
        assert view(app).network.cuts == ()
    drive(scenario)


def test_partition_dialog_one_way():
    async def scenario(app, pilot):
        await pilot.press("p", "3")
        app.screen.query_one("#direction").focus()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert view(app).network.cuts == ((3, 1), (3, 2))
        assert "3→1, 3→2" in note(app)
    drive(scenario)


def test_network_dialog_sets_delay_loss_and_disk():
    async def scenario(app, pilot):
        await pilot.press("n")
        dialog = app.screen
        assert isinstance(dialog, FormDialog)
        for name, value in (("max_delay", "40"), ("drop", "10"), ("fsync", "3")):
            field = dialog.query_one(f"#field-{name}")
            field.value = value
        await pilot.click("#ok")
        net = view(app).network
        assert (net.max_delay, net.drop_rate, net.fsync_ms) == (40, 0.1, 3)
        assert not isinstance(app.screen, FormDialog)
    drive(scenario)


def test_a_refused_form_stays_open_with_what_was_typed_and_why():
    def refusal(app) -> str:
        return str(app.screen.query_one(".dialog-refusal").render())

    async def scenario(app, pilot):
        await pilot.press("n")
        dialog = app.screen
        dialog.query_one("#field-min_delay").value = "150"      # above max delay (25)
        dialog.query_one("#field-drop").value = "12"
        await pilot.click("#ok")
        assert app.screen is dialog and "min ≤ max" in refusal(app)
        assert dialog.query_one("#field-drop").value == "12"     # nothing typed is lost
        dialog.query_one("#field-min_delay").value = "1.5"
        dialog.query_one("#field-min_delay").focus()
        await pilot.press("enter")          # Enter in a field submits too
        assert app.screen is dialog and "'1.5' is not a whole number" in refusal(app)
        dialog.query_one("#field-min_delay").value = "5"
        await pilot.press("enter")
        assert app.screen is not dialog and view(app).network.drop_rate == 0.12
    drive(scenario)


def test_saving_where_it_cannot_write_says_why_and_keeps_the_form(tmp_path):
    async def scenario(app, pilot):
        await pilot.press("ctrl+s")
        dialog = app.screen
        dialog.query_one("#field-path").value = str(tmp_path / "no-such-dir" / "s.scenario")
        await pilot.click("#ok")
        assert app.screen is dialog
        assert "Could not save to" in str(dialog.query_one(".dialog-refusal").render())
        dialog.query_one("#field-path").value = str(tmp_path / "s.scenario")
        dialog.query_one("#field-path").focus()
        await pilot.press("enter")
        assert app.screen is not dialog and (tmp_path / "s.scenario").exists()
    drive(scenario)


# --- nodes ---


def test_crash_with_a_mode_then_restart():
    async def scenario(app, pilot):
        await pilot.press("c")
        assert isinstance(app.screen, NodePicker)
        await pilot.press("down", "3")
        node = view(app).node(3)
        assert not node.up
        assert "lost power" in note(app)
        card = app.query_one("#card-3", NodeCard)
        assert card.border_title.startswith("✖ 3 down") and card.has_class("-down")
        await pilot.press("r", "3")
        assert view(app).node(3).up
    drive(scenario)


def test_a_card_repaints_the_line_that_changed_on_screen():
    """One changed line (an idle cluster's commit moving on) reaches the terminal: the
    frame after it repaints that screen row, not a neighbour."""
    from pathlib import Path

    from textual._compositor import ChopsUpdate

    import raftviz.ui.app as app_module

    class Recording(RaftvizApp):
        CSS_PATH = str(Path(app_module.__file__).with_name(RaftvizApp.CSS_PATH))

        def __init__(self, backend) -> None:
            super().__init__(backend)
            self.painted: list[set[int]] = []     # screen rows of each partial update

        def _display(self, screen, renderable) -> None:
            if isinstance(renderable, ChopsUpdate):
                self.painted.append({y for y, _, _ in renderable.spans})
            super()._display(screen, renderable)

    async def scenario(app, pilot):
        card = app.query_one("#card-1", NodeCard)
        node = card.node
        app.painted.clear()
        card.show(dataclasses.replace(node, commit=node.commit + 1), card.seen)
        await pilot.pause()
        commit_row = card.region.y + card.gutter.top + 1
        assert f"commit {node.commit + 1}" in card.card_lines()[1].plain
        assert any(commit_row in rows for rows in app.painted), app.painted
    drive(scenario, app=Recording(elected_app().session.backend))


def test_card_lines_are_drawn_as_rich_draws_them():
    """Lines that fit go straight from their parts to segments; each is what rich makes
    of the same line: dim labels, a bold probe state and silence, a dim inflight count, an
    italic list of extras, the base style under all of it."""
    async def scenario(app, pilot):
        base = view(app)
        leader = base.leader()
        progress = tuple(dataclasses.replace(p, state="probe", inflight=3, recent_active=False)
                         for p in leader.progress)
        app.query_one(NodeCards).cluster = dataclasses.replace(base, nodes=tuple(
            dataclasses.replace(n, progress=progress if n.id == leader.id else n.progress,
                                db_size=3_811_635, client_url=f"http://127.0.0.1:4000{n.id}")
            for n in base.nodes))
        await pilot.pause()
        styles = set()
        for card in app.query(NodeCard):
            width, base_style = card.content_region.width, card.base_style()
            lines = card.card_lines(width)
            assert all(line.cell_len <= width for line in lines)     # none wraps here
            for line, (_, drawn) in zip(lines, card._drawn, strict=False):
                rich = Segment.apply_style(line.render(app.console), base_style)
                expected = Strip(list(rich)).extend_cell_length(width, base_style)
                assert list(Segment.simplify(drawn)) == list(Segment.simplify(expected))
                styles |= {segment.style for segment in drawn}
        assert len(styles) == 4, styles        # plain, dim, bold and italic
    drive(scenario)


def card_states(base: o.ClusterView) -> list[o.ClusterView]:
    """The cluster as it is (a leader, two followers), then with node 3 a learner (a new
    title, the same border), then with a node down, a candidate and a paused leader: each
    a border of its own."""
    leader = base.leader()

    def changed(nodes: dict[int, dict]) -> o.ClusterView:
        return dataclasses.replace(base, nodes=tuple(
            dataclasses.replace(n, **nodes.get(n.id, {})) for n in base.nodes))
    return [base, changed({3: {"voter": False, "learner": True}}),
            changed({1: {"up": False}, 3: {"role": "candidate"}, leader.id: {"paused": True}})]


@pytest.mark.parametrize("no_color", [False, True])
def test_cards_draw_their_lines_as_textual_would(monkeypatch, no_color):
    """A card puts its lines of text between border sides it took from Textual: for every
    border a card has, in both themes and under NO_COLOR, whole and cropped, its lines are
    the lines Textual's own styling makes, and every card takes that way."""
    if no_color:
        monkeypatch.setenv("NO_COLOR", "1")
    found = []

    async def scenario(app, pilot):
        for theme in ("textual-dark", "textual-light"):
            app.theme = theme
            for state in card_states(view(app)):
                app.query_one(NodeCards).cluster = state
                await pilot.pause()
                for card in app.query(NodeCard):
                    width, height = card.outer_size
                    for crop in (Region(0, 0, width, height),
                                 Region(2, 1, width - 5, height - 2)):
                        ours = card.render_lines(crop)
                        card._styles_cache.clear()        # Textual's way, afresh
                        found.append((f"{theme} {card.classes} {crop}",
                                      card._sides() is not None,
                                      ours == Widget.render_lines(card, crop)))
    drive(scenario)
    assert len({what.split(" Region")[0] for what, _, _ in found}) >= 6     # borders, themes
    assert all(same for _, _, same in found), [what for what, _, same in found if not same]
    assert all(short for _, short, _ in found)


def test_a_leaders_card_tells_its_followers_logs_or_why_it_cannot():
    leader = elected_app().session.backend.view().leader()
    assert followers_text(leader) == "2 of 2 followers have its whole log"
    alone = [p for p in leader.progress if p.peer == leader.id]
    assert followers_text(dataclasses.replace(leader, progress=tuple(alone))) == \
        "no followers: alone, it is the majority"
    assert followers_text(dataclasses.replace(leader, progress=())) == \
        "its followers' progress is not reported"          # a real etcd's leader


def test_a_lone_leader_has_no_followers_even_where_progress_is_not_reported():
    assert followers_text(view(elected_app()).leader(), alone=True) == \
        "no followers: alone, it is the majority"

    async def scenario(app, pilot):      # a one-member etcd: its leader reports no progress
        leader = dataclasses.replace(view(app).leader(), progress=())
        app.query_one(NodeCards).cluster = dataclasses.replace(view(app), nodes=(leader,))
        await pilot.pause()
        text = app.query_one(f"#card-{leader.id}", NodeCard).card_text().plain
        assert "no followers: alone, it is the majority" in text, text
    drive(scenario, app=elected_app(nodes=1))


def test_narrow_cards_break_their_lines_between_fields_not_inside_them():
    async def scenario(app, pilot):
        cards = list(app.query(NodeCard))
        assert len(cards) == 5 and all(c.content_region.width < 24 for c in cards)
        for card in cards:
            lines = [strip.text.strip() for _, strip in card._drawn]
            # a value alone on a line is one whose label ended the line before
            assert not any(re.fullmatch(r"[\d—‥]+", line) for line in lines), lines
            assert any(re.fullmatch(r"commit \d+  applied \d+", line) for line in lines)
            # the row of cards grows so that every line shows, the leader's view too
            assert card.content_region.height >= card.needed > 6, lines
            assert any(line.startswith(("leader: match", "4 of 4")) for line in lines)
        card.node = dataclasses.replace(card.node, client_url="http://127.0.0.1:56867")
        assert card.card_lines()[-1].plain == "client http://127.0.0.1:56867"
        assert card.card_lines(20)[-1].plain == "client 127.0.0.1:56867"   # as etcdctl's
    drive(scenario, app=elected_app(nodes=5), size=(120, 40))


def test_a_card_needing_a_line_more_for_a_moment_does_not_make_the_screen_jump():
    """A follower silent for a heartbeat makes the leader's line on its card wrap: the
    row of cards grows at once, but does not shrink back and forth (each new height laid
    the whole screen out again and moved everything below); at a new width it fits the
    cards' text afresh."""
    async def scenario(app, pilot):
        cards, base = app.query_one(NodeCards), view(app)
        leader = base.leader()

        def silent(on: bool) -> o.ClusterView:     # the cards of a busy live cluster
            progress = tuple(dataclasses.replace(p, match=11419, next=11437, inflight=6,
                                                 recent_active=not on)
                             for p in leader.progress)
            return dataclasses.replace(base, nodes=tuple(dataclasses.replace(
                n, progress=progress if n.id == leader.id else n.progress,
                db_size=3_811_635, client_url=f"http://127.0.0.1:4000{n.id}")
                for n in base.nodes))
        heights = []
        for on in (False, True, False, True, False):
            cards.cluster = silent(on)
            await pilot.pause()
            heights.append(cards.size.height)
        assert heights[0] < heights[1] == heights[2] == heights[3] == heights[4], heights
        await pilot.resize_terminal(200, 48)
        await pilot.pause()
        needed = max(card.needed for card in cards.cards.values())
        assert cards.size.height == min(max(needed, NodeCards.LINES[0]), NodeCards.LINES[1]) + 2
        assert cards.size.height < heights[-1]
    drive(scenario)


def test_cards_say_when_a_node_runs_without_pre_vote_or_check_quorum():
    async def scenario(app, pilot):
        texts = [c.card_text().plain for c in app.query(NodeCard)]
        assert texts and all("no pre-vote" in t and "no check-quorum" not in t
                             for t in texts)
    drive(scenario, RaftvizApp(SimBackend(3, 1, pre_vote=False)))


def test_crash_dialog_refuses_nodes_that_are_down():
    async def scenario(app, pilot):
        app.controls.execute(o.Crash(1))
        await pilot.press("c", "1")
        assert isinstance(app.screen, NodePicker)      # node 1 cannot be picked
        await pilot.press("escape")
        assert not isinstance(app.screen, NodePicker)
    drive(scenario)


def test_node_pickers_show_every_node_whole_on_a_seven_node_cluster():
    async def scenario(app, pilot):
        await pilot.press("c")
        await pilot.pause()
        buttons = list(app.screen.query(Button))
        nodes = [b for b in buttons if str(b.id).startswith("node-")]
        assert len(nodes) == 7
        dialog = app.screen.query_one(".dialog")
        for b in nodes:
            assert dialog.content_region.contains_region(b.region), str(b.label)
            assert b.content_region.width >= len(str(b.label)), str(b.label)
    drive(scenario, app=elected_app(nodes=7))


def test_freeze_and_skew_a_node():
    async def scenario(app, pilot):
        await pilot.press("z", "1")
        assert view(app).node(1).paused
        await pilot.press("z", "1")
        assert not view(app).node(1).paused
        await pilot.press("k", "down", "2")
        assert view(app).node(2).clock_rate == 400
    drive(scenario)


def test_campaign_and_transfer_leadership():
    async def scenario(app, pilot):
        await pilot.press("l", "3")
        await settle(pilot, 3)
        assert view(app).leader().id == 3
        await pilot.press("e", "1")           # refused by voters that hear a leader
        await settle(pilot, 3)
        assert view(app).leader().id == 3
        app.controls.execute(o.Crash(3))
        await settle(pilot, 12)               # node 2 stops hearing from the old leader
        await pilot.press("e", "1")
        await settle(pilot, 2)
        assert view(app).leader().id == 1
    drive(scenario)


def test_membership_add_promote_remove():
    async def scenario(app, pilot):
        await pilot.press("L")
        assert "Node 4 joins as a learner" in note(app)
        await settle(pilot, 5)
        assert view(app).node(4).learner
        await pilot.press("P")
        await pilot.pause()
        buttons = list(app.screen.query(Button))
        offered = {str(b.label): b.disabled for b in buttons}
        assert offered["4  · learner"] is False     # only the learner qualifies
        assert offered["1  · follower"] is True
        assert all(b.content_region.width >= len(str(b.label)) for b in buttons)  # uncut
        await pilot.press("4")
        await settle(pilot, 5)
        assert view(app).node(4).voter
        await pilot.press("R", "4")
        await settle(pilot, 5)
        assert view(app).node(4).removed
    drive(scenario)


def test_snapshot_compact_defrag():
    async def scenario(app, pilot):
        await client(pilot, "put a 1", "put a 2", "put a 3")
        await settle(pilot)
        await pilot.press("S", "1")
        assert view(app).log(1).snapshot_index > 0
        await pilot.press("C")
        await pilot.click("#ok")
        await settle(pilot)
        assert view(app).compact_revision == 4
        await pilot.press("D", "2")
        assert "defragmented" in note(app)
    drive(scenario)


# --- history ---


def test_undo_redo_go_to_and_save(tmp_path):
    async def scenario(app, pilot):
        start = view(app).event
        await pilot.press("t", "t")
        await pilot.press("u")
        await pilot.pause()
        assert view(app).event == start + 1
        assert note(app).startswith("Undid `tick")      # not the note of the event it left
        await pilot.press("y")
        await pilot.pause()
        assert view(app).event == start + 2 and note(app).startswith("Redid `tick")
        await pilot.press("g")
        app.screen.query_one("#field-event").value = "5"
        await pilot.press("enter")
        await pilot.pause()
        assert view(app).event == 5 and note(app).startswith("Now at event 5")
        await pilot.press("ctrl+s")
        app.screen.query_one("#field-path").value = str(tmp_path / "s.scenario")
        await pilot.click("#ok")
        assert "Saved" in note(app)
    drive(scenario)
    saved = SimBackend.load(tmp_path / "s.scenario", at=5)
    assert saved.view().event == 5


# --- view ---


def test_help_screen_lists_every_control():
    async def scenario(app, pilot):
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert not app.screen.screen_keys            # a lesson's keys only in a lesson
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
    drive(scenario)


def test_theme_toggle():
    """The theme flips, and the lines widgets draw once and keep (the keyspace's title,
    the timeline's rows) take its colours."""
    async def scenario(app, pilot):
        kept = [app.query_one(".panel-title", TextLine), app.query_one(TimelineBody)]

        def drawn() -> list[tuple[str, object]]:
            lines = [widget.render_line(0) for widget in kept]
            return [(line.text, next(iter(line)).style) for line in lines]
        before = drawn()
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        await pilot.pause()
        assert app.current_theme.dark is not dark
        after = drawn()
        assert [text for text, _ in after] == [text for text, _ in before]
        assert all(new != old for (_, new), (_, old) in zip(after, before)), after
    drive(scenario)


def test_tabs_switch_with_digits():
    async def scenario(app, pilot):
        tabs = app.query_one(TabbedContent)
        for key, tab in (("2", "messages"), ("3", "keyspace"), ("4", "requests"),
                         ("1", "cluster")):
            await pilot.press(key)
            assert tabs.active == tab
    drive(scenario)


def test_command_palette_runs_a_node_command():
    async def scenario(app, pilot):
        await pilot.press("ctrl+p")
        await pilot.press(*"crash 3 wipe")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert not view(app).node(3).up and view(app).node(3).last_index == 0
    drive(scenario)


def test_narrow_layout_uses_the_node_table():
    async def scenario(app, pilot):
        assert app.screen.has_class("-narrow")
        assert not app.query_one("NodeCards").display
        assert app.query_one("NodeTable").display
    drive(scenario, size=(80, 24))
