"""Many seeds: no violations over hundreds of runs, the campaign hash, and hypothesis
properties over seeds and over whole fault mixes."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.sim.campaign import run_seeds
from engine.sim.params import FAULT_KINDS, TICK, derive_params
from engine.sim.world import run_world


@pytest.mark.slow
@pytest.mark.parametrize("nodes,seeds", [(3, 200), (5, 200)])
def test_hundreds_of_seeds_are_clean(nodes, seeds):
    outcome = run_seeds(1000, seeds, nodes)
    assert [r.params.seed for r in outcome.failures] == []
    assert outcome.events > seeds * 1000


def test_the_campaign_hash_depends_on_every_run():
    a = run_seeds(1, 4, 3)
    assert a.trace == run_seeds(1, 4, 3).trace
    assert a.trace != run_seeds(2, 4, 3).trace
    assert a.trace != run_seeds(1, 3, 3).trace
    assert a.trace != run_seeds(1, 4, 5).trace
    assert len(a.trace) == 16 and int(a.trace, 16) >= 0


def test_one_seed_derives_every_parameter():
    assert derive_params(42, 3) == derive_params(42, 3)
    assert derive_params(42, 3) != derive_params(43, 3)
    a, b = derive_params(42, 3), derive_params(42, 7)
    # The cluster size changes only the size and the per-node clocks.
    assert a.drop_rate == b.drop_rate and a.fault_weights == b.fault_weights
    assert a.tick_periods == b.tick_periods[:3]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), nodes=st.sampled_from([1, 2, 3, 4, 5]))
def test_any_seed_is_clean(seed, nodes):
    result = run_world(derive_params(seed, nodes, fault_ticks=120))
    assert result.violation is None, result.violation


fault_mixes = st.lists(st.tuples(st.sampled_from(FAULT_KINDS), st.integers(1, 3)),
                       max_size=6, unique_by=lambda kw: kw[0])


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), weights=fault_mixes, drop=st.floats(0, 0.3),
       dup=st.floats(0, 0.2), gap=st.integers(1, 30), snapshot_count=st.integers(0, 20),
       pre_vote=st.booleans(), check_quorum=st.booleans())
def test_any_fault_mix_is_clean(seed, weights, drop, dup, gap, snapshot_count, pre_vote,
                                check_quorum):
    params = derive_params(seed, 3, fault_weights=tuple(weights), drop_rate=drop,
                           dup_rate=dup, nemesis_lo=gap * TICK // 2, nemesis_span=gap * TICK,
                           snapshot_count=snapshot_count, pre_vote=pre_vote,
                           check_quorum=check_quorum, fault_ticks=150)
    result = run_world(params)
    assert result.violation is None, result.violation
