"""`raftviz check` and `raftviz bench sim`, run in-process through `main()`."""

import re
import subprocess
import sys

import pytest

from raftviz.cli import main

SUMMARY = re.compile(r"^(\d+) seeds, (\d+) violations, (\d+) events, (\d+) events/s, "
                     r"trace ([0-9a-f]{16})$")


def check(capsys, *args):
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_prints_exactly_one_summary_line(capsys):
    code, out, err = check(capsys, "--seeds", "3")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1
    m = SUMMARY.match(lines[0])
    assert m and m.group(1) == "3" and m.group(2) == "0" and int(m.group(3)) > 1000
    assert err == ""     # no progress bar when stderr is not a terminal


def test_the_same_arguments_print_the_same_trace_hash(capsys):
    first = SUMMARY.match(check(capsys, "--seeds", "2", "--nodes", "5", "--start-seed", "9")[1])
    again = SUMMARY.match(check(capsys, "--seeds", "2", "--nodes", "5", "--start-seed", "9")[1])
    other = SUMMARY.match(check(capsys, "--seeds", "2", "--nodes", "5", "--start-seed", "10")[1])
    assert first.group(5) == again.group(5) != other.group(5)
    assert first.group(3) == again.group(3)


def test_defaults_are_a_hundred_seeds_from_one_on_three_nodes(capsys, monkeypatch):
    calls = []

    def fake_run_seeds(start, count, nodes, planted_bug, on_result):
        calls.append((start, count, nodes, planted_bug))
        from engine.sim.campaign import CampaignResult
        return CampaignResult(seeds=count)

    monkeypatch.setattr("raftviz.cmd_check.run_seeds", fake_run_seeds)
    code, out, _ = check(capsys)
    assert code == 0 and calls == [(1, 100, 3, False)]
    assert SUMMARY.match(out.strip())


@pytest.mark.parametrize("args,fragment", [
    (["--nodes", "0"], "--nodes: must be from 1 to 9, got 0"),
    (["--nodes", "10"], "--nodes: must be from 1 to 9, got 10"),
    (["--nodes", "x"], "--nodes: must be an integer, got 'x'"),
    (["--seeds", "0"], "--seeds: must be at least 1, got 0"),
    (["--start-seed", "-1"], "--start-seed: must be at least 0, got -1"),
    (["--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_arguments_are_one_line_and_exit_2(capsys, args, fragment):
    code, out, err = check(capsys, *args)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("raftviz: error: ") and fragment in err


def test_unknown_subcommand_is_a_usage_error(capsys):
    # (No subcommand at all opens the terminal UI: see tests/test_cli_ui.py.)
    assert main(["frobnicate"]) == 2
    assert main(["--at", "3"]) == 2            # --at needs --sim
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith("raftviz: error: ") for line in lines)


def test_help_exits_0(capsys):
    assert main(["check", "--help"]) == 0
    assert "--start-seed" in capsys.readouterr().out


def test_a_violation_is_reported_and_exits_1(capsys):
    code, out, _ = check(capsys, "--seeds", "1", "--start-seed", "1", "--planted-bug")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("VIOLATION seed 1: ")
    assert "  reproduce: raftviz check --seeds 1 --start-seed 1 --nodes 3 --planted-bug" in lines
    m = SUMMARY.match(lines[-1])
    assert m and m.group(2) == "1"


def test_verbose_prints_every_seed(capsys):
    code, out, _ = check(capsys, "--seeds", "2", "--verbose")
    assert code == 0
    assert out.count("seed ") >= 2 and "ok: " in out


def test_progress_bar_goes_to_a_terminal_stderr(capsys, monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    code, out, err = check(capsys, "--seeds", "2")
    assert code == 0 and SUMMARY.match(out.strip())
    assert "] 2/2 seeds" in err and "\r[" in err


def test_bench_sim_prints_tables(capsys):
    assert main(["bench", "sim", "--seconds", "0.2"]) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    sizes = [r[0] for r in rows if len(r) == 5 and r[0].isdigit()]
    assert sizes == ["1", "3", "5", "7", "9"]
    assert "log length" in out and "5 nodes:" in out


def test_bench_needs_a_target_and_a_positive_duration(capsys):
    assert main(["bench"]) == 2
    assert main(["bench", "sim", "--seconds", "0"]) == 2
    assert "--seconds: must be a positive number" in capsys.readouterr().err


def test_python_dash_m_runs_the_same_main():
    proc = subprocess.run([sys.executable, "-m", "raftviz", "check", "--nodes", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.startswith("raftviz: error: ") and "Traceback" not in proc.stderr
