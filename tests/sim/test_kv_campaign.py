"""Many keyspace seeds: no violations and no undecided searches over hundreds of runs on
several cluster sizes, and the campaign's trace hash."""

import os
import re
import subprocess
import sys

import pytest

from engine.sim.kv_campaign import run_kv_seeds


def undecided(outcome_results):
    return [(r.run.params.seed, u) for r in outcome_results for u in r.verdicts.undecided]


@pytest.mark.slow
@pytest.mark.parametrize("nodes,start,seeds", [(3, 1, 200), (5, 1000, 60), (1, 2000, 20),
                                               (7, 3000, 15)])
def test_hundreds_of_keyspace_seeds_are_clean(nodes, start, seeds):
    results = []
    outcome = run_kv_seeds(start, seeds, nodes, on_result=results.append)
    assert [r.run.params.seed for r in outcome.failures] == []
    assert undecided(results) == []
    assert outcome.histories > seeds * 5
    assert sum(r.operations for r in results) > seeds * 50
    assert sum(r.stats["watch replies"] for r in results) > seeds * 5
    if nodes == 3:
        assert sum(r.stats["torn writes"] for r in results) > 0
        assert sum(r.stats["snapshots sent"] for r in results) > 0


def test_the_kv_campaign_hash_depends_on_every_run():
    a = run_kv_seeds(1, 3, 3)
    assert a.trace == run_kv_seeds(1, 3, 3).trace
    assert a.trace != run_kv_seeds(2, 3, 3).trace
    assert a.trace != run_kv_seeds(1, 2, 3).trace
    assert len(a.trace) == 16


def test_the_trace_is_the_same_in_another_process_with_other_hash_seeds():
    traces = set()
    for hash_seed in ("1", "2"):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        proc = subprocess.run([sys.executable, "-m", "raftviz", "check", "--workload", "kv",
                               "--seeds", "2", "--start-seed", "5"],
                              capture_output=True, text=True, timeout=120, env=env)
        assert proc.returncode == 0, proc.stderr
        traces.add(re.search(r"trace ([0-9a-f]{16})$", proc.stdout.strip()).group(1))
    assert len(traces) == 1
