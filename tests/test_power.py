"""Planning arithmetic with literal values, and planned power against the power the real interval has in
simulation (literal seeds): within 10 points."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.analysis import power, stats
from bench.analysis.power import Noise


def test_standard_error_and_df_follow_the_two_way_model():
    noise = Noise(seed=0.0004, query=0.2, residual=0.1, queries=1000)
    assert noise.variance(4) == pytest.approx(0.0001 + 0.0002 + 0.1 / 4000)
    assert noise.standard_error(4) == pytest.approx(math.sqrt(0.000325))
    # seed noise only: df = S - 1; query noise only: df large
    assert Noise(0.01, 0.0, 0.0, 500).degrees_of_freedom(5) == pytest.approx(4.0)
    assert Noise(0.0, 0.2, 0.0, 500).degrees_of_freedom(5) == pytest.approx(499.0)


def test_power_is_five_percent_per_side_at_the_margin_and_grows_with_distance():
    noise = Noise(seed=0.0, query=0.1, residual=0.0, queries=1000)  # se = 0.01, df 999: about normal
    assert power.power(noise, -0.01, 0.01, 3) == pytest.approx(0.05, abs=0.002)
    assert power.power(noise, 0.0, 0.01, 3) == pytest.approx(0.17, abs=0.01)  # Phi(1 - 1.96)
    assert power.power(noise, 0.018, 0.01, 3) == pytest.approx(0.80, abs=0.01)  # 2.8 se away


def test_seeds_needed_and_query_limited():
    seedy = Noise(seed=0.0004, query=0.0, residual=0.0, queries=2000)
    needed = power.seeds_needed(seedy, 0.0, 0.03)
    assert needed is not None and power.power(seedy, 0.0, 0.03, needed) >= 0.8
    assert power.power(seedy, 0.0, 0.03, needed - 1) < 0.8
    test_limited = Noise(seed=0.0, query=0.5, residual=0.0, queries=2000)  # query se alone is 0.0158
    assert power.seeds_needed(test_limited, 0.0, 0.01) is None
    pairs = power.queries_needed(test_limited, 0.0, 0.01, seeds=10)
    assert pairs == math.ceil(0.5 / (0.01**2 / (1.959964 + 0.841621) ** 2))
    assert power.power(test_limited, 0.0, 0.01, 10, queries=pairs) == pytest.approx(0.8, abs=0.01)
    assert power.queries_needed(seedy, 0.0, 0.001, seeds=2) is None  # the seed part alone is too wide


def test_supported_margins_bracket_the_delta():
    noise = Noise(seed=0.0, query=0.1, residual=0.0, queries=1000)
    below, above = power.supported_margins(noise, -0.02, seeds=5)
    reach = power.smallest_resolvable(noise, 5)
    assert reach == pytest.approx(0.01 * (1.96 + 0.8416), rel=0.01)
    assert (below, above) == pytest.approx((0.02 - reach, 0.02 + reach))
    assert power.power(noise, -0.02, above, 5) == pytest.approx(0.8, abs=0.01)


def simulated_power(noise: Noise, delta: float, margin: float, seeds: int, trials: int, rng) -> float:
    """Share of simulated experiments whose real two-way interval decides the verdict."""
    decided = 0
    for _ in range(trials):
        x = (delta + rng.normal(0, math.sqrt(noise.seed), (seeds, 1))
             + rng.normal(0, math.sqrt(noise.query), (1, noise.queries))
             + rng.normal(0, math.sqrt(noise.residual), (seeds, noise.queries)))
        _, lo, hi = stats.paired_delta_ci(x, 0.95)
        decided += stats.verdict(lo, hi, margin) != "inconclusive"
    return decided / trials


@pytest.mark.parametrize(("noise", "delta", "seeds"), [
    (Noise(seed=0.0002, query=0.15, residual=0.2, queries=600), 0.04, 3),     # seed-dominated, few df
    (Noise(seed=0.0002, query=0.15, residual=0.2, queries=600), -0.03, 5),
    (Noise(seed=0.00002, query=0.3, residual=0.2, queries=800), 0.02, 4),    # query-dominated
    (Noise(seed=0.0001, query=0.2, residual=0.3, queries=500), 0.07, 2),     # two seeds
])
def test_planned_power_is_within_ten_points_of_simulated(noise, delta, seeds):
    simulated = simulated_power(noise, delta, 0.01, seeds, 600, np.random.default_rng(20261204))
    planned = power.power(noise, delta, 0.01, seeds)
    assert 0.1 < planned < 0.99  # a case that tests something
    assert abs(planned - simulated) <= 0.10, (planned, simulated)
