"""SVG snapshots of the main screens at 80x24 and 160x48 (pytest-textual-snapshot).

The scenes are the ones `python -m raftviz.ui.screenshots` saves into assets/. After an
intended change of look, run `pytest tests/ui --snapshot-update` and check the new
pictures in tests/ui/__snapshots__ before committing them.
"""

from __future__ import annotations

import pytest

from raftviz.ui import screenshots

pytest.importorskip("pytest_textual_snapshot")

SIZES = [(80, 24), (160, 48)]
MAIN = ["cluster", "messages", "keyspace", "requests", "partition"]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
@pytest.mark.parametrize("name", MAIN)
def test_main_screens(snap_compare, name, size):
    scene, _ = screenshots.SCENES[name]
    assert snap_compare(screenshots.fresh_app(), terminal_size=size, run_before=scene)


@pytest.mark.parametrize("name", ["crash-dialog", "help"])
def test_dialogs(snap_compare, name):
    scene, size = screenshots.SCENES[name]
    assert snap_compare(screenshots.fresh_app(), terminal_size=size, run_before=scene)


def test_a_lesson_asking_its_first_question(snap_compare):
    """The narration beside the views: the step's text, the question, its answers (the
    first with the focus, underlined) and what the step will do."""
    scene, size = screenshots.SCENES["lesson"]
    assert snap_compare(screenshots.lesson_app(), terminal_size=size, run_before=scene)


def test_help_in_a_small_terminal(snap_compare):
    """At 80x24 the titles wrap too, leaving the explanations room to be read."""
    scene, _ = screenshots.SCENES["help"]
    assert snap_compare(screenshots.fresh_app(), terminal_size=(80, 24), run_before=scene)


def test_screenshots_script_writes_svgs(tmp_path):
    screenshots.main(["--out", str(tmp_path), "crash-dialog"])
    svg = (tmp_path / "screenshot-crash-dialog.svg").read_text()
    assert svg.startswith("<svg") and "Crash a node" in svg.replace("&#160;", " ")


def test_light_theme(snap_compare):
    scene, _ = screenshots.SCENES["cluster"]
    app = screenshots.fresh_app()
    app.theme = "textual-light"
    assert snap_compare(app, terminal_size=(80, 24), run_before=scene)


def test_no_color(snap_compare, monkeypatch):
    """Under NO_COLOR every role and mark still reads: ★ leader, ✖ down, ✓ applied..."""
    monkeypatch.setenv("NO_COLOR", "1")
    scene, _ = screenshots.SCENES["partition"]
    app = screenshots.fresh_app()
    assert app.no_color
    assert snap_compare(app, terminal_size=(80, 24), run_before=scene)
