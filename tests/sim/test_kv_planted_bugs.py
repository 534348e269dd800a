"""The keyspace checkers can fail: each planted bug is caught within a few seeds, by the
checker meant to catch it, and the same faults and workload without the bug are clean."""

import pytest

from engine.sim.kv_campaign import format_kv_report, run_kv_seed, run_kv_seeds
from engine.sim.kv_params import PlantedBug

# bug -> (first failing seed on 3 nodes, a checker that must be among those failing it)
CAUGHT = {
    PlantedBug.STALE_READ: (1, "linearizability"),
    PlantedBug.COMMIT_OLD_TERMS: (3, "raft leader-completeness"),
    PlantedBug.ACK_BEFORE_FSYNC: (1, "durability"),
    PlantedBug.WATCH_SKIPS_REVISION: (1, "watch-reliable"),
    PlantedBug.LEASE_NOT_EXTENDED: (1, "lease-early"),
}


@pytest.mark.slow
@pytest.mark.parametrize("bug", list(PlantedBug), ids=lambda b: b.value)
def test_each_planted_bug_is_caught_at_its_seed(bug):
    first, checker = CAUGHT[bug]
    outcome = run_kv_seeds(1, first, 3, bug)
    assert [r.run.params.seed for r in outcome.failures] == [first]
    assert checker in outcome.failures[0].checkers


@pytest.mark.slow
@pytest.mark.parametrize("bug", list(PlantedBug), ids=lambda b: b.value)
def test_the_same_runs_without_the_bug_are_clean(bug):
    outcome = run_kv_seeds(1, 8, 3, None, profile=bug)
    assert [r.run.params.seed for r in outcome.failures] == []


def test_a_stale_read_is_shown_as_a_few_operations_and_the_command():
    result = run_kv_seed(1, 3, PlantedBug.STALE_READ)
    report = format_kv_report(result)
    lines = report.splitlines()
    assert lines[0].startswith("VIOLATION seed 1: ") and "linearizability" in lines[0]
    assert "PLANTED BUG stale-read" in report
    assert lines[-1] == ("  reproduce: raftviz check --workload kv --seeds 1 --start-seed 1 "
                         "--nodes 3 --planted-bug stale-read")
    shrunk = [f for f in result.findings if "cannot be ordered" in f.summary]
    assert shrunk and all(len(f.evidence) <= 6 for f in shrunk)


def test_acknowledged_before_fsync_loses_an_acknowledged_write():
    lost = [r for seed in (2, 5, 8) if "durability" in (r := run_kv_seed(seed, 3,
            PlantedBug.ACK_BEFORE_FSYNC)).checkers]
    assert lost
    finding = next(f for f in lost[0].findings if f.checker == "durability")
    assert "acknowledged write(s) missing" in finding.summary


def test_planted_bugs_are_named_and_never_on_by_default():
    assert PlantedBug.named("watch-skip") is PlantedBug.WATCH_SKIPS_REVISION
    with pytest.raises(ValueError, match="unknown planted bug"):
        PlantedBug.named("nope")
    assert run_kv_seed(1, 3).kv.bug is None
