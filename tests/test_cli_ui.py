"""Without a subcommand, `raftviz` opens the terminal UI: live by default, the simulator
with --sim. (The UI itself is tested in tests/ui and tests/ui_live; here, the routing.)"""

import os
import subprocess
import sys

import raftviz.live_app
import raftviz.ui.app
from raftviz.cli import main


def test_no_subcommand_runs_the_live_ui(monkeypatch):
    seen = {}
    monkeypatch.setattr(raftviz.live_app, "run_live",
                        lambda nodes, data_dir: seen.update(nodes=nodes, data_dir=data_dir) or 0)
    assert main([]) == 0
    assert seen == {"nodes": 3, "data_dir": None}
    assert main(["--nodes", "5", "--data-dir", "/tmp/x"]) == 0
    assert seen == {"nodes": 5, "data_dir": "/tmp/x"}


def test_sim_flags_reach_the_simulator(monkeypatch):
    seen = {}
    monkeypatch.setattr(raftviz.ui.app, "run_sim", lambda **kw: seen.update(kw))
    assert main(["--sim", "--seed", "7", "--at", "12", "--nodes", "5"]) == 0
    assert seen == {"seed": 7, "nodes": 5, "at_event": 12, "scenario": None}


def test_check_seed_replays_the_checkers_run(monkeypatch):
    import engine.sim.check_backend as cb
    seen = {}
    monkeypatch.setattr(cb.CheckReplay, "opened_at",
                        classmethod(lambda cls, *a: seen.setdefault("args", a)))
    monkeypatch.setattr(raftviz.ui.app, "run_backend", lambda backend: None)
    assert main(["--sim", "--check-seed", "5", "--nodes", "9", "--at", "40",
                 "--planted-bug"]) == 0
    assert seen["args"] == (5, 9, 40, True)


def test_bad_ui_flags_are_one_line(capsys):
    assert main(["--nodes", "8"]) == 2                 # live clusters stop at 7
    assert main(["--sim", "--seed", "x"]) == 2
    assert main(["--check-seed", "3"]) == 2            # needs --sim
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all(line.startswith("raftviz: error: ") for line in err)


def test_sim_can_start_without_prevote_and_checkquorum(monkeypatch, capsys):
    seen = []
    monkeypatch.setattr(raftviz.ui.app, "run_backend", seen.append)
    assert main(["--sim", "--seed", "4", "--at", "3", "--no-pre-vote",
                 "--no-check-quorum"]) == 0
    backend = seen[0]
    assert (backend.seed, backend.view().event) == (4, 3)
    assert not any(n.pre_vote or n.check_quorum for n in backend.view().nodes)
    assert main(["--sim", "--no-check-quorum"]) == 0
    assert [(n.pre_vote, n.check_quorum) for n in seen[1].view().nodes] == [(True, False)] * 3
    assert main(["--no-pre-vote"]) == 2                            # needs --sim
    assert main(["--sim", "--no-pre-vote", "--scenario", "s.txt"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["raftviz: error: --no-pre-vote needs --sim",
                   "raftviz: error: --no-pre-vote and --scenario do not go together (the "
                   "run brings its own options)"]


def test_the_interface_asks_textual_for_a_short_screen_timer_unless_the_user_chose():
    """The setting must come before Textual loads: probe a fresh interpreter that loads
    the interface the way the `raftviz` command does."""
    probe = "import raftviz.cli, raftviz.ui.app, textual.constants as c; print(c.MAX_FPS)"
    env = {k: v for k, v in os.environ.items() if k != "TEXTUAL_FPS"}
    for chosen, expected in ((None, "120"), ("30", "30")):
        run_env = env if chosen is None else {**env, "TEXTUAL_FPS": chosen}
        out = subprocess.run([sys.executable, "-c", probe], env=run_env, capture_output=True,
                             text=True, timeout=60, check=True).stdout
        assert out.strip() == expected
