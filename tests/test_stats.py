import math

import numpy as np
import pytest

from bench.analysis import stats
from bench.analysis.stats import (
    bootstrap_mean_ci,
    mean_ci,
    paired_bootstrap_delta,
    reduction,
    time_reductions,
    time_to_target,
    verdict,
)


def test_mean_ci_three_values() -> None:
    # mean = 2; sd (ddof=1) = sqrt((1 + 0 + 1) / 2) = 1; se = 1/sqrt(3) = 0.5773503
    # t_{0.975, df=2} = 4.302653  => half-width = 4.302653 * 0.5773503 = 2.4841377
    mean, lo, hi = mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert lo == pytest.approx(2.0 - 2.4841377, abs=1e-6)
    assert hi == pytest.approx(2.0 + 2.4841377, abs=1e-6)


def test_mean_ci_two_values() -> None:
    # mean = 11; sd = sqrt((1 + 1) / 1) = 1.4142136; se = 1.4142136 / sqrt(2) = 1
    # t_{0.975, df=1} = 12.7062047 => interval 11 -/+ 12.7062047
    mean, lo, hi = mean_ci([10.0, 12.0])
    assert mean == 11.0
    assert lo == pytest.approx(-1.7062047, abs=1e-6)
    assert hi == pytest.approx(23.7062047, abs=1e-6)


def test_mean_ci_90_percent() -> None:
    # [1, 2, 3]: t_{0.95, df=2} = 2.9199856; half-width = 2.9199856 / sqrt(3) = 1.6858545
    _, lo, hi = mean_ci([1.0, 2.0, 3.0], confidence=0.90)
    assert lo == pytest.approx(0.3141455, abs=1e-6)
    assert hi == pytest.approx(3.6858545, abs=1e-6)


def test_mean_ci_single_and_empty() -> None:
    assert mean_ci([0.7]) == (0.7, None, None)
    with pytest.raises(ValueError):
        mean_ci([])


def test_time_reductions_paired_by_seed() -> None:
    strategy = {3: 50.0, 1: 80.0, 2: 90.0, 9: 1.0}
    baseline = {1: 100.0, 2: 100.0, 3: 200.0, 7: 5.0}
    # shared seeds 1, 2, 3: 1 - 80/100 = 0.2; 1 - 90/100 = 0.1; 1 - 50/200 = 0.75
    assert time_reductions(strategy, baseline) == pytest.approx([0.2, 0.1, 0.75])
    assert time_reductions({1: 1.0}, {2: 1.0}) == []
    with pytest.raises(ValueError):
        time_reductions({1: 1.0}, {1: 0.0})


@pytest.mark.parametrize(
    ("lo", "hi", "margin", "expected"),
    [
        (-0.005, 0.02, 0.01, "non-inferior"),  # -0.005 > -0.01
        (-0.05, -0.02, 0.01, "inferior"),  # -0.02 < -0.01
        (-0.02, 0.01, 0.01, "inconclusive"),  # straddles -0.01
        (-0.01, 0.01, 0.01, "inconclusive"),  # lo == -margin is not strictly above
        (-0.03, -0.01, 0.01, "inconclusive"),  # hi == -margin is not strictly below
        (0.01, 0.02, 0.0, "non-inferior"),  # superiority with zero margin
        (None, None, 0.01, "inconclusive"),
        (0.0, None, 0.01, "inconclusive"),
    ],
)
def test_verdict(lo: float | None, hi: float | None, margin: float, expected: str) -> None:
    assert verdict(lo, hi, margin) == expected


def test_time_to_target() -> None:
    curve = [(10.0, 0.1), (20.0, 0.3), (30.0, 0.5), (40.0, 0.4), (50.0, 0.6)]
    assert time_to_target(curve, 0.45) == 30.0  # first value >= 0.45 is 0.5 at t=30
    assert time_to_target(curve, 0.3) == 20.0  # exact equality counts
    assert time_to_target(curve, 0.05) == 10.0
    assert time_to_target(curve, 0.7) is None  # never reached
    assert time_to_target([], 0.1) is None


def test_reduction() -> None:
    assert reduction(30.0, 120.0) == pytest.approx(0.75)  # 1 - 30/120
    assert reduction(150.0, 100.0) == pytest.approx(-0.5)  # slower than baseline
    assert reduction(None, 100.0) is None
    assert reduction(10.0, None) is None
    assert reduction(10.0, 0.0) is None


def test_bootstrap_bernoulli_width_matches_normal_theory() -> None:
    p, q = 0.3, 4000
    x = (np.random.default_rng(123).random((1, q)) < p).astype(float)
    mean, lo, hi = bootstrap_mean_ci(x)
    assert mean == x.mean()
    assert lo < p < hi
    # normal-theory width: 2 * 1.96 * sqrt(0.3 * 0.7 / 4000) = 3.92 * 0.0072457 = 0.0284031
    assert (hi - lo) == pytest.approx(0.0284031, rel=0.15)


def test_bootstrap_coverage() -> None:
    # Its speed (under 5 s) is a benchmark: benchmarks/test_microbench.py::test_bootstrap_coverage_check.
    p, q, n_sets = 0.3, 500, 200
    rng = np.random.default_rng(7)
    covered = 0
    for i in range(n_sets):
        x = (rng.random((1, q)) < p).astype(float)
        _, lo, hi = bootstrap_mean_ci(x, n_boot=500, seed=i)
        covered += lo <= p <= hi
    assert 0.90 * n_sets <= covered <= 0.99 * n_sets


def test_bootstrap_deterministic_and_1d_accepted() -> None:
    x = np.random.default_rng(1).random((3, 50))
    assert bootstrap_mean_ci(x, n_boot=300, seed=5) == bootstrap_mean_ci(x, n_boot=300, seed=5)
    assert bootstrap_mean_ci(x, n_boot=300, seed=5) != bootstrap_mean_ci(x, n_boot=300, seed=6)
    assert bootstrap_mean_ci(x[0], n_boot=300, seed=5) == bootstrap_mean_ci(x[:1], n_boot=300, seed=5)


def test_bootstrap_single_seed_constant_row_is_degenerate() -> None:
    # S = 1 and every query 0.25: resampling queries cannot move the mean
    assert bootstrap_mean_ci(np.full((1, 20), 0.25), n_boot=200) == (0.25, 0.25, 0.25)


def test_bootstrap_resamples_seeds() -> None:
    # Two seeds, rows constant 0 and 1: query resampling is irrelevant; a replicate's mean is
    # (#draws of row 1) / 2 in {0, 0.5, 1} with probabilities 1/4, 1/2, 1/4, so with 2000 replicates
    # the 2.5% and 97.5% percentiles are 0 and 1, and the point estimate is (0 + 1) / 2 = 0.5.
    x = np.vstack([np.zeros(30), np.ones(30)])
    assert bootstrap_mean_ci(x) == (0.5, 0.0, 1.0)


def test_paired_delta_identical_is_exactly_zero() -> None:
    a = np.random.default_rng(2).random((3, 400))
    assert paired_bootstrap_delta(a, a.copy(), n_boot=500) == (0.0, 0.0, 0.0)


def test_paired_delta_constant_shift() -> None:
    a = np.random.default_rng(3).random((3, 400))
    delta, lo, hi = paired_bootstrap_delta(a, a - 0.1, n_boot=500)
    # every difference is 0.1 up to float rounding, so every replicate is 0.1
    assert delta == pytest.approx(0.1, abs=1e-12)
    assert lo == pytest.approx(0.1, abs=1e-12)
    assert hi == pytest.approx(0.1, abs=1e-12)


def test_paired_delta_narrower_than_unpaired_when_correlated() -> None:
    rng = np.random.default_rng(4)
    s, q = 3, 2000
    query_difficulty = rng.random(q)  # shared by both systems: large, correlated variation
    a = query_difficulty + 0.05 * rng.standard_normal((s, q)) + 0.02
    b = query_difficulty + 0.05 * rng.standard_normal((s, q))
    delta, lo, hi = paired_bootstrap_delta(a, b, n_boot=1000, seed=0)
    assert delta == pytest.approx((a - b).mean())
    assert lo < 0.02 < hi
    _, alo, ahi = bootstrap_mean_ci(a, n_boot=1000, seed=1)
    _, blo, bhi = bootstrap_mean_ci(b, n_boot=1000, seed=2)
    unpaired_width = math.hypot(ahi - alo, bhi - blo)  # widths of independent estimates add in quadrature
    assert (hi - lo) < 0.5 * unpaired_width


def test_bootstrap_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        paired_bootstrap_delta(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(ValueError):
        bootstrap_mean_ci(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError):
        bootstrap_mean_ci(np.zeros((1, 3)), confidence=1.0)


DELTA = np.array([[0.0, 1.0, -1.0, 0.0], [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 1.0]])


def test_components_are_the_two_way_anova_mean_squares():
    # seed means 0, 1/2, 0 around 1/6: SS_seed = 4 * 6/36 = 2/3, MS 1/3; query means 1/3, 2/3, -2/3, 1/3:
    # SS_query = 3 * 36/36 = 3, MS 1; SS_total = (4 * 25 + 6 * 1 + 2 * 49) / 36 = 204/36, SS_res = 2, MS 1/3
    parts = stats.components(DELTA)
    assert parts.mean == pytest.approx(1 / 6)
    assert (parts.mean_square_seed, parts.mean_square_query, parts.mean_square_residual) == pytest.approx(
        (1 / 3, 1.0, 1 / 3))
    assert (parts.seed, parts.query, parts.residual) == pytest.approx((0.0, 2 / 9, 1 / 3))
    # Var = MS_seed / 12 + (MS_query - MS_res) / 12 = 1/12; Satterthwaite df = (1/12)^2 /
    # ((1/36)^2 / 2 + (1/12)^2 / 3 + (1/36)^2 / 6) = 2.454545
    assert parts.variance == pytest.approx(1 / 12)
    assert parts.degrees_of_freedom() == pytest.approx(2.4545454545)


def test_paired_delta_ci_takes_a_t_quantile_at_satterthwaites_df():
    mean, lo, hi = stats.paired_delta_ci(DELTA, 0.95)
    assert mean == pytest.approx(1 / 6)
    assert (hi - mean) == pytest.approx(mean - lo)
    assert (hi - mean) == pytest.approx(1.0457154, abs=1e-6)  # t(2.4545, 0.975) = 3.62246 x sqrt(1/12)
    # one seed: the query part only, t with Q - 1 = 3 df: 3.182446 x sqrt(MS_query / 4) = 3.182446 x 0.408248
    _, lo1, hi1 = stats.paired_delta_ci(DELTA[:1], 0.95)
    assert (hi1 - lo1) / 2 == pytest.approx(1.2992283, abs=1e-6)
    assert stats.paired_delta_ci(np.zeros((3, 5))) == (0.0, 0.0, 0.0)


def test_a_seed_spread_that_comes_out_small_is_kept_not_dropped():
    # Three seeds that happen to agree: the seed term stays in the variance with S - 1 = 2 df's weight, so the
    # interval is wider than a query-only one would be.
    rng = np.random.default_rng(3)
    delta = rng.normal(0.0, 0.3, (3, 400))
    delta -= delta.mean(axis=1, keepdims=True)  # identical seed means: MS_seed = 0
    parts = stats.components(delta)
    assert parts.mean_square_seed == pytest.approx(0.0, abs=1e-20) and parts.seed == 0.0
    assert stats.paired_delta_ci(delta)[2] > 0.0


def test_the_between_seeds_interval_takes_at_most_s_minus_1_degrees_of_freedom():
    # seed noise dominates: Satterthwaite's df is already at or below S - 1, and both intervals agree
    seeded = np.array([[0.1, 0.2, 0.3, 0.0], [0.0, 0.1, 0.5, 0.2], [0.2, 0.2, 0.2, 0.4]])
    assert stats.between_seeds_ci(seeded) == stats.paired_delta_ci(seeded)
    assert stats.between_seeds_ci(seeded) == pytest.approx((0.2, -0.27353229, 0.67353229))
    # a fixed test set's query noise dominates: Satterthwaite's df is ~397, the between-seeds one 2 (t 4.303)
    rng = np.random.default_rng(3)
    queried = rng.normal(0.0, 1.0, (1, 400)) + rng.normal(0.0, 0.1, (3, 400))
    mean, lo, hi = stats.between_seeds_ci(queried)
    assert (mean, lo, hi) == pytest.approx((0.03814446, -0.17841977, 0.25470870))
    _, narrow_lo, narrow_hi = stats.paired_delta_ci(queried)
    assert lo < narrow_lo and hi > narrow_hi
