"""The log grid's cells, drawn straight from their looks: text, width, styles."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st
from rich.style import Style

from raftviz.ui import format as fmt
from engine.observe import EntryView, LogView
from raftviz.ui.widgets.logs import IN_SNAPSHOT, IndexCell, LeaderLog, LogGrid, cell_segments, mark

BASE = Style(color="white", bgcolor="black")


def text(segments) -> str:
    return "".join(s.text for s in segments)


def test_an_entry_shows_its_mark_term_and_request_padded_to_the_width():
    segments = cell_segments((fmt.MARK_APPLIED, 2, "put a = 1", False, False), 16, BASE)
    assert text(segments) == " ✓  2 put a = 1   "
    term = next(s for s in segments if s.text == " 2")
    assert term.style.bold and term.style.bgcolor == BASE.bgcolor
    assert all(not s.style.reverse for s in segments)


def test_a_long_request_is_cut_with_an_ellipsis():
    segments = cell_segments((fmt.MARK_COMMITTED, 12, "put key = " + "x" * 40, False, False),
                             20, BASE)
    assert text(segments) == " ● 12 put key = xxxx… "
    assert len(text(segments)) == 20 + 2


def test_a_followed_entry_is_reversed_but_not_its_padding():
    segments = cell_segments((fmt.MARK_APPLIED, 3, "put a = 1", False, True), 16, BASE)
    reversed_text = "".join(s.text for s in segments if s.style and s.style.reverse)
    assert reversed_text == "✓  3 put a = 1"


def test_empty_entries_snapshot_and_index_cells_are_dim():
    empty = cell_segments((fmt.MARK_APPLIED, 4, "(new term)", True, False), 16, BASE)
    assert next(s for s in empty if "new term" in s.text).style.dim
    folded = cell_segments(IN_SNAPSHOT, 16, BASE)
    assert text(folded).strip() == f"{fmt.MARK_SNAPSHOT} in snapshot"
    assert next(s for s in folded if s.text.strip()).style.dim
    index = cell_segments(IndexCell("42"), 4, BASE)
    assert text(index) == " 42   " and next(s for s in index if "42" in s.text).style.dim
    assert len(index) == 3          # blanks in one style are one segment
    assert text(cell_segments(None, 5, BASE)) == " " * 7


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([fmt.MARK_APPLIED, fmt.MARK_COMMITTED, fmt.MARK_APPENDED,
                        fmt.MARK_UNSYNCED, fmt.MARK_DIVERGED]),
       st.integers(min_value=0, max_value=1200),
       st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF), max_size=30),
       st.booleans(), st.integers(min_value=0, max_value=40))
def test_the_log_grid_draws_an_entry_as_head_and_body_as_it_would_whole(
        mark, term, words, empty, width):
    """The grid draws an entry's mark and the rest apart (the rest is shared by every
    node and mark): together they are the cell drawn whole, segment for segment."""
    grid, look = LogGrid(), (mark, term, words, empty, False)
    assert grid.draw_cell(look, width, BASE) == cell_segments(look, width, BASE)
    assert grid.draw_cell(look, width, BASE) == cell_segments(look, width, BASE)  # kept


def follower_log(commit: int) -> LogView:
    return LogView(node=2, entries=(), first_index=1, last_index=100, snapshot_index=0,
                   snapshot_term=0, commit=commit, applied=commit, synced_index=100)


def test_an_entry_is_marked_diverged_only_when_the_leader_will_replace_it():
    """The leader (term 3) reported indexes 41-50 of its log, which ends at 50."""
    lead = LeaderLog({i: 2 if i <= 45 else 3 for i in range(41, 51)}, 50, 3)
    log = follower_log(commit=40)

    def marks(*entries: tuple[int, int]) -> list[str]:
        return [mark(log, EntryView(i, t, "normal", "put"), lead) for i, t in entries]

    diverged, appended = fmt.MARK_DIVERGED, fmt.MARK_APPENDED
    assert marks((44, 2), (46, 3)) == [appended, appended]         # the leader's own
    assert marks((44, 1), (46, 2)) == [diverged, diverged]         # another term there
    # Beyond the leader's report (the follower's is newer): the leader's term came from
    # it; an older term will be overwritten.
    assert marks((51, 3), (60, 3), (51, 2)) == [appended, appended, diverged]
    assert marks((55, 4)) == [appended]                            # a newer leader's
    assert marks((41, 2)) == [appended]
    assert marks((35, 1)) == [fmt.MARK_APPLIED]                    # committed: never
    log = follower_log(commit=10)
    assert marks((30, 1)) == [appended]      # before the leader's tail: not known
