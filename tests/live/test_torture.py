"""A short `raftviz torture --live`: real processes under the nemesis, every fault kind
injected, and the checkers find nothing."""

import re
import subprocess
import sys


def test_short_torture_run_is_clean():
    r = subprocess.run([sys.executable, "-m", "raftviz", "torture", "--live",
                        "--duration", "12s", "--seed", "3"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr[-2000:]
    ops = re.search(r"operations\s+(\d+) \((\d+) ok", r.stdout)
    assert ops and int(ops.group(2)) > 100, r.stdout
    faults = re.search(r"faults\s+(.*)", r.stdout).group(1)
    assert all(f"{kind} " in faults for kind in ("kill", "pause", "partition", "transfer"))
    lin = re.search(r"linearizability\s+0 violations in (\d+) histories(?:, (\d+) undecided)?",
                    r.stdout)
    assert lin, r.stdout
    assert int(lin.group(1)) - int(lin.group(2) or 0) >= 1, r.stdout   # some were decided
    assert re.search(r"durability\s+0 violations", r.stdout), r.stdout
    assert "goaway" not in r.stderr.lower(), r.stderr     # gRPC's log lines at the user


def test_bad_duration_is_one_line():
    r = subprocess.run([sys.executable, "-m", "raftviz", "torture", "--live",
                        "--duration", "soon"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "expected a duration" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_undecided_histories_are_not_read_as_passed():
    from collections import Counter

    from engine import check as c
    from raftviz.torture import summary
    decided = summary([], Counter(), {"linearizability": c.Verdicts(histories=2)})
    assert "undecided" not in decided
    gave_up = summary([], Counter(), {"linearizability": c.Verdicts(
        histories=16, undecided=["keys k1: search gave up after 2000001 steps"])})
    assert "0 violations in 16 histories, 1 undecided" in gave_up
    assert gave_up.splitlines()[-1].startswith("undecided histories were neither passed nor")


def test_clients_wait_rather_than_ask_a_member_that_just_failed():
    import random

    from raftviz.torture_clients import pick_member
    rng = random.Random(1)
    assert {pick_member([0.0, 5.0, 0.0], 1.0, rng) for _ in range(50)} == {0, 2}
    assert pick_member([2.0, 3.0, 2.5], 1.0, rng) is None     # all failed within the second
    assert pick_member([2.0, 3.0, 2.5], 2.0, rng) == 0
