"""`raftviz check --workload kv`, in-process through `main()`."""

import re

from raftviz.cli import main

SUMMARY = re.compile(r"^(\d+) seeds, (\d+) violations, (\d+) histories checked, (\d+) events, "
                     r"trace ([0-9a-f]{16})$")


def check(capsys, *args):
    code = main(["check", "--workload", "kv", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_kv_check_prints_exactly_one_summary_line(capsys):
    code, out, err = check(capsys, "--seeds", "3")
    assert code == 0 and err == ""
    m = SUMMARY.match(out.strip())
    assert m and m.group(1) == "3" and m.group(2) == "0" and int(m.group(3)) > 10


def test_the_same_arguments_print_the_same_trace(capsys):
    runs = [SUMMARY.match(check(capsys, "--seeds", "2", "--nodes", n, "--start-seed", s)[1])
            for n, s in (("5", "9"), ("5", "9"), ("5", "10"), ("3", "9"))]
    assert runs[0].group(5) == runs[1].group(5)
    assert len({r.group(5) for r in runs}) == 3


def test_a_violation_prints_the_seed_checker_counterexample_and_command(capsys):
    code, out, _ = check(capsys, "--seeds", "1", "--planted-bug", "watch-skip")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("VIOLATION seed 1: watch-reliable")
    assert any(line.startswith("    missing: ") for line in lines)
    assert ("  reproduce: raftviz check --workload kv --seeds 1 --start-seed 1 --nodes 3 "
            "--planted-bug watch-skip") in lines
    assert SUMMARY.match(lines[-1]).group(2) == "1"


def test_verbose_describes_every_seed(capsys):
    code, out, _ = check(capsys, "--seeds", "2", "--verbose")
    assert code == 0 and out.count("  ok: ") == 2 and out.count("keyspace: ") == 2


def test_bad_bug_names_and_raft_only_bugs_are_usage_errors(capsys):
    assert check(capsys, "--planted-bug", "nope")[0] == 2
    assert main(["check", "--planted-bug", "stale-read"]) == 2
    assert main(["check", "--workload", "etcd"]) == 2
    err = capsys.readouterr().err
    assert all(line.startswith("raftviz: error: ") for line in err.splitlines())
    assert "use --workload kv" in err


def test_histories_the_search_gave_up_on_are_counted_apart(capsys, monkeypatch):
    import functools

    from engine import check as checkers
    monkeypatch.setattr(checkers, "check_linearizable",
                        functools.partial(checkers.check_linearizable, budget=1))
    code, out, _ = check(capsys, "--seeds", "1")
    summary, note = out.strip().splitlines()
    undecided = re.search(r"histories checked \((\d+) undecided\)", summary)
    assert code == 0 and undecided and int(undecided.group(1)) > 0
    assert note.startswith("undecided histories were neither passed nor failed")
