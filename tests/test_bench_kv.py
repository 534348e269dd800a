"""`raftviz bench kv` smoke test: tiny durations, checking the report's shape only."""

from __future__ import annotations

import argparse
import os
import re

from raftviz import bench_kv

ROWS = ["put, in memory", "put + backend commit per 8", "range, one key, in memory",
        "watch fan-out, 3 watchers", "WAL, one entry per fsync",
        "WAL, group commit of 8 per fsync"]
ROW = re.compile(r"^(?P<name>.+?)\s+(?P<count>[\d,]+)\s+(?P<seconds>[\d.]+)"
                 r"\s+(?P<rate>[\d,]+) (?P<unit>\w+)\s+(?P<ratio>.+)$")


def run_bench(tmp_path, *extra: str) -> int:
    parser = argparse.ArgumentParser(prog="raftviz bench")
    bench_kv.register(parser.add_subparsers(dest="target"))
    args = parser.parse_args(["kv", "--seconds", "0.01", "--keys", "50", "--watchers", "3",
                              "--batch", "8", "--dir", str(tmp_path), *extra])
    return args.run(args)


def test_report_has_every_measurement_and_both_targets(tmp_path, capsys):
    assert run_bench(tmp_path) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("raftviz bench kv: 0.01 s per measurement, 50 keys")
    head = lines.index(next(line for line in lines if line.startswith("measurement")))
    assert lines[head].split()[-1] == "ratio" and set(lines[head + 1]) == {"-"}
    rows = [ROW.match(line) for line in lines[head + 2:head + 8]]
    assert [r["name"] for r in rows] == ROWS
    assert [r["unit"] for r in rows] == ["puts", "puts", "ranges", "events", "entries",
                                         "entries"]
    assert rows[0]["ratio"] == "baseline" and rows[4]["ratio"] == "baseline"
    assert rows[1]["ratio"].endswith("x of put") and "events per put" in rows[3]["ratio"]
    assert rows[5]["ratio"].endswith("x of 1/fsync")
    targets = [line for line in lines if line.startswith("target:")]
    assert len(targets) == 2 and all(t.endswith(("(met)", "(missed)")) for t in targets)
    assert os.listdir(tmp_path) == []        # the scratch files are gone


def test_profile_and_bad_dir(tmp_path, capsys):
    assert run_bench(tmp_path, "--profile") == 0
    assert "cProfile of in-memory puts" in capsys.readouterr().out
    assert run_bench(tmp_path / "missing") == 1
    assert capsys.readouterr().err.startswith("raftviz bench kv: --dir")
