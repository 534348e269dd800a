"""Pilot tests of the data views: requests followed from the client box, the keyspace
table and a key's history, and the log grid, on a deterministic simulated cluster."""

from __future__ import annotations

import dataclasses

from textual.geometry import Region

from engine import observe as o
from raftviz.ui.widgets.keyspace import KeyHistory, KeyTable, WatchesLeases
from raftviz.ui.widgets.logs import LogGrid
from raftviz.ui.widgets.requests import RequestList, TraceView

from .ui_helpers import client, drive, settle, view


def test_a_request_shows_as_pending_before_time_moves():
    """The client box's hint reads the view; the widgets must still be given it."""
    async def scenario(app, pilot):
        await client(pilot, "lease grant 5")
        await pilot.pause(0.1)
        assert app.query_one(RequestList).keys == ["r1"]
        trace = app.query_one(TraceView)
        assert trace.followed == "r1" and trace.cluster.request("r1").status == "pending"
    drive(scenario)


def test_client_answers_and_follows_the_request():
    async def scenario(app, pilot):
        await client(pilot, "put greeting hello")
        trace_view = app.query_one(TraceView)
        assert trace_view.followed == "r1"
        await settle(pilot, 2)
        trace = view(app).request("r1")
        assert trace.status == "done" and len(trace.applied) == 3
        log = app.query_one("#client-log")
        assert any("OK" in line.text for line in log.lines)
        shown = plain(trace_view.render())
        assert "index 2, term 1" in shown and "answer   OK" in shown
        assert "reports first showed" not in shown       # simulated times are exact
        trace_view.cluster = dataclasses.replace(view(app), clock="live")
        assert "reports first showed" in plain(trace_view.render())
        grid = app.query_one(LogGrid)
        assert grid.followed == "r1"
    drive(scenario)


def plain(renderable) -> str:
    import io

    from rich.console import Console
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def test_client_refusals_are_shown():
    async def scenario(app, pilot):
        await client(pilot, "frobnicate")
        log = app.query_one("#client-log")
        assert any("unknown command" in line.text for line in log.lines)
        await client(pilot, "help")
        assert any("lease grant" in line.text for line in log.lines)
    drive(scenario)


def test_follow_keys_move_between_requests():
    async def scenario(app, pilot):
        await client(pilot, "put a 1", "put b 2", "get a --consistency=s")
        listed = app.query_one(RequestList)
        assert listed.cursor_key == "r3"                # the newest, sent last
        await pilot.press("left_square_bracket")
        assert app.session.followed == "r2" and listed.cursor_key == "r2"
        await pilot.press("right_square_bracket")
        assert app.session.followed == "r3" and listed.cursor_key == "r3"
        await pilot.press("f")
        assert app.session.followed == "r3"
    drive(scenario)


def test_keyspace_table_and_key_history():
    async def scenario(app, pilot):
        await client(pilot, "put a 1", "put a 2", "watch a", "lease grant 60")
        await settle(pilot)
        await pilot.press("3")
        history = app.query_one(KeyHistory)
        assert history.key == "a"
        assert [h.revision for h in history.history] == [3, 2]
        leases = view(app).leases
        assert leases and leases[0].remaining is not None
    drive(scenario)


def test_keyspace_title_counts_one_key_and_keys_beyond_those_shown():
    async def scenario(app, pilot):
        await client(pilot, "put a 1")
        await settle(pilot)
        await pilot.press("3")
        table = app.query_one(KeyTable)
        assert table.title(view(app)).plain.endswith("· 1 key")
        # A live cluster shows only its first keys, and says how many it holds.
        big = dataclasses.replace(view(app), key_count=1234)
        assert table.title(big).plain.endswith("· 1234 keys, the first 1 shown")
    drive(scenario)


async def history_of_a(pilot, values) -> KeyHistory:
    """Key `a` put with each value, then the Keyspace tab's history (of `a`, the first key)."""
    await client(pilot, *(f"put a {v}" for v in values))
    await settle(pilot, 10)
    await pilot.press("3")
    await pilot.pause()
    return pilot.app.query_one(KeyHistory)


def test_a_long_key_history_shows_the_newest_changes_that_fit():
    async def scenario(app, pilot):
        history = await history_of_a(pilot, range(60))
        assert len(history.history) == 60
        lines = plain(history.render()).splitlines()
        assert len(lines) == history.content_region.height
        assert lines[1].startswith("@61") and "put 59" in lines[1]
        assert lines[-1].strip() == f"… {61 - len(lines) + 1} older changes"
    drive(scenario)


def test_a_key_history_keeps_each_change_on_one_line_when_narrow():
    async def scenario(app, pilot):
        history = await history_of_a(pilot, (f"value-number-{i}" for i in range(3)))
        assert len("@4   put value-number-2  v3 · created @2") > history.size.width
        shown = [strip.text.strip() for strip in
                 history.render_lines(Region(0, 0, *history.outer_size))]
        assert [line[:2] for line in shown[1:4]] == ["@4", "@3", "@2"], shown
        assert shown[1].endswith("…") and not any(shown[4:]), shown
    drive(scenario, size=(80, 24))


def test_long_revisions_in_a_key_history_keep_apart_from_what_changed():
    async def scenario(app, pilot):
        await pilot.press("3")
        history = app.query_one(KeyHistory)
        history.key = "a"
        history.history = (o.KeyRevision(12_345, "put", "x", 3, 7),
                           o.KeyRevision(998, "delete", "", 0, 0),
                           o.KeyRevision(7, "put", "y", 1, 7))
        lines = plain(history.render()).splitlines()
        assert lines[1].startswith("@12345 put x")
        assert lines[2].startswith("@998   deleted")     # aligned under the widest
        assert lines[3].startswith("@7     put y")
    drive(scenario)


def test_the_keyspace_title_shows_the_revision_and_repaints_only_when_it_moves():
    from raftviz.ui.widgets.bars import TextLine

    async def scenario(app, pilot):
        await pilot.press("3")
        await pilot.pause()
        title = app.query_one(KeyTable).query_one(".panel-title", TextLine)
        repaints = []
        refresh = title.refresh
        title.refresh = lambda *a, **k: (repaints.append(1), refresh(*a, **k))
        table, v = app.query_one(KeyTable), view(app)
        table.cluster = dataclasses.replace(v, time=v.time + 100)
        assert repaints == []                       # the same words
        table.cluster = dataclasses.replace(v, revision=v.revision + 5)
        assert len(repaints) == 1
        line = title.render_line(0)
        assert f"revision {v.revision + 5}" in line.text
        assert line.cell_length == title.content_region.width
    drive(scenario)


def test_a_title_in_one_style_throughout_is_drawn_in_it():
    """rich's Text.render leaves out the style of a text that has no spans of its own:
    "No node is running" is bold all the same."""
    from raftviz.ui.widgets.bars import TextLine

    async def scenario(app, pilot):
        await pilot.press("3")
        await pilot.pause()
        table = app.query_one(KeyTable)
        table.cluster = dataclasses.replace(view(app), keyspace_node=0)
        line = table.query_one(".panel-title", TextLine).render_line(0)
        assert line.text.startswith("No node is running")
        assert all(s.style.bold for s in line if s.text.strip())
    drive(scenario)


def test_another_clients_watcher_shows_where_it_stands():
    """A live member reports watchers other clients opened (an etcdctl in another
    terminal): the panel shows each with its keys, start and the revision it was sent up
    to, and who opened it, beside the panel's own watches."""
    async def scenario(app, pilot):
        await client(pilot, "watch mine")
        await settle(pilot)
        theirs = o.WatchView(0, 2, "seen/", "seen0", 8, (), 3,
                             client="127.0.0.1:41234 (grpc-go/1.26.0)", position=41)
        panel = app.query_one(WatchesLeases)
        panel.cluster = dataclasses.replace(view(app), watches=view(app).watches + (theirs,),
                                            unlisted_watches=2)
        lines = panel.render().plain.splitlines()
        assert lines[1].startswith("1 mine on node")
        assert lines[2:5] == ["[seen/, seen0) on node 2 · sent up to @41",
                              "   from @8 · 3 events · its watch 0",
                              "   127.0.0.1:41234 (grpc-go/1.26.0)"]
        assert lines[5] == "and 2 more, not listed by their nodes"
        filtered = dataclasses.replace(theirs, filters=("NODELETE",))
        panel.cluster = dataclasses.replace(view(app), watches=(filtered,))
        assert "   from @8 · 3 events · its watch 0 · NODELETE" in \
            panel.render().plain.splitlines()
    drive(scenario)


def test_watch_targets_name_open_ended_ranges_in_words():
    def target(key, end):
        return o.WatchView(0, 1, key, end, 1, (), 0).target
    assert (target("k", ""), target("a", "b")) == ("k", "[a, b)")
    assert (target("\0", "\0"), target("a", "\0")) == ("every key", "a and every key after")


def test_a_watch_covers_its_key_its_range_or_every_key_after():
    def covers(key, end, *keys):
        return [o.WatchView(0, 1, key, end, 1, (), 0).covers(k) for k in keys]
    assert covers("k", "", "k", "k0", "j") == [True, False, False]
    assert covers("a", "c", "a", "b/x", "c") == [True, True, False]
    assert covers("b", "\0", "a", "b", "zz") == [False, True, True]
    assert covers("\0", "\0", "", "a") == [False, True]


def test_selecting_a_log_entry_follows_its_request():
    async def scenario(app, pilot):
        await client(pilot, "put a 1", "put b 2")
        await settle(pilot)
        await pilot.press("1")
        grid = app.query_one(LogGrid)
        row = grid.row_index("2")
        grid.move_cursor(row=row, column=1)
        await pilot.press("enter")
        assert app.session.followed == "r1"
    drive(scenario)


def long_log(shown: o.ClusterView, first: int, count: int) -> o.ClusterView:
    """Every node's log holding `count` applied entries from `first` on."""
    last = first + count - 1
    entries = tuple(o.EntryView(i, 1, "normal", f"put k{i} = {i}")
                    for i in range(first, last + 1))
    return dataclasses.replace(shown, logs=tuple(
        dataclasses.replace(lg, entries=entries, first_index=first, last_index=last,
                            commit=last, applied=last, synced_index=last)
        for lg in shown.logs))


def test_a_long_log_fits_beside_its_scrollbar_without_sideways_scrolling():
    """More entries than lines brings the vertical scrollbar: the columns narrow to the
    width left beside it, rather than overflow by a column and gain a horizontal bar."""
    async def scenario(app, pilot):
        await pilot.press("1")
        grid = app.query_one(LogGrid)
        grid.cluster = long_log(view(app), 1, 60)
        await pilot.pause()
        assert grid.show_vertical_scrollbar
        assert not grid.show_horizontal_scrollbar
        width = grid.scrollable_content_region.width
        assert grid.virtual_size.width <= width
        assert [grid.render_line(y).cell_length for y in range(3)] == [width] * 3
    drive(scenario, size=(120, 30))


def test_indexes_past_four_digits_show_whole_in_the_log_grid():
    async def scenario(app, pilot):
        await pilot.press("1")
        grid = app.query_one(LogGrid)
        grid.cluster = long_log(view(app), 123_401, 60)
        await pilot.pause()
        header = grid.render_line(1).text
        assert "commit 123460" in header and "123460" in header.split("·")[1]
        assert "…" not in header
        last = grid.render_line(grid.size.height - 1).text
        assert last.split()[0] == "123460"
        grid.cluster = long_log(view(app), 99_997_001, 60)   # words give way to marks
        await pilot.pause()
        assert grid.render_line(1).text.count("● 99997060 · ✓ 99997060") == 3
        shown = long_log(view(app), 99_997_001, 60)          # one column fits the words
        first = dataclasses.replace(shown.logs[0], commit=9, applied=9)
        grid.cluster = dataclasses.replace(shown, logs=(first, *shown.logs[1:]))
        await pilot.pause()
        header = grid.render_line(1).text
        assert "● 9 · ✓ 9" in header and header.count("● 99997060 · ✓ 99997060") == 2
    drive(scenario, size=(100, 30))
