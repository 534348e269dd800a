"""The checker can fail: with the planted Raft bug (commit older-term entries by counting)
it finds a violation within a few seeds; the same faults without the bug find none."""

from engine.sim.campaign import format_report, run_seed, run_seeds

FIRST_FAILING_SEED = {3: 1, 5: 2}


def test_the_planted_bug_is_caught_within_twenty_seeds_on_three_nodes():
    outcome = run_seeds(1, 20, 3, planted_bug=True)
    seeds = [r.params.seed for r in outcome.failures]
    assert seeds and seeds[0] == FIRST_FAILING_SEED[3]
    assert len(seeds) >= 3
    for r in outcome.failures:
        assert r.violation.invariant in ("leader-completeness", "committed-stable",
                                         "raft-assertion", "state-machine-safety")


def test_the_planted_bug_is_caught_on_five_nodes_too():
    first = next(seed for seed in range(1, 21)
                 if run_seed(seed, 5, planted_bug=True).violation is not None)
    assert first == FIRST_FAILING_SEED[5]


def test_the_same_faults_without_the_bug_are_clean():
    outcome = run_seeds(1, 12, 3, planted_bug=True, unsafe_commit_old_terms=False)
    assert outcome.failures == []


def test_the_report_names_seed_invariant_events_and_the_command():
    result = run_seed(FIRST_FAILING_SEED[3], 3, planted_bug=True)
    report = format_report(result)
    lines = report.splitlines()
    assert lines[0].startswith(f"VIOLATION seed {FIRST_FAILING_SEED[3]}: ")
    assert "UNSAFE-COMMIT-OLD-TERMS" in report
    assert sum(1 for line in lines if line.startswith("    t=")) == 20
    assert any(" deliver " in line and "Msg" in line for line in lines)
    assert lines[-2] == (f"  reproduce: raftviz check --seeds 1 --start-seed "
                         f"{FIRST_FAILING_SEED[3]} --nodes 3 --planted-bug")
    assert lines[-1] == (f"  open it in the UI: raftviz --sim --check-seed "
                         f"{FIRST_FAILING_SEED[3]} --nodes 3 --at {result.events} --planted-bug")
