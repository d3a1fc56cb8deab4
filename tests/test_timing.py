import numpy as np
import pytest

from bench.analysis.timing import kept_steps, robust_reduction, wallclock_reduction

SEEDS, STEPS = (0, 1, 2), 32


def step_lengths(seed: int) -> np.ndarray:
    """Baseline seconds per step: batches of different token counts, 0.4-1.2 s (a MiniLM step on 2 cores)."""
    return np.random.default_rng(100 + seed).uniform(0.4, 1.2, STEPS)


def jittered(ratio: float, jitter: float, seed: int) -> tuple[dict[int, np.ndarray], dict[int, np.ndarray]]:
    """Strategy = ratio x baseline, each side with independent multiplicative log-normal jitter."""
    rng = np.random.default_rng(seed)
    strategy, baseline = {}, {}
    for s in SEEDS:
        length = step_lengths(s)
        baseline[s] = length * np.exp(rng.normal(0.0, jitter, STEPS))
        strategy[s] = ratio * length * np.exp(rng.normal(0.0, jitter, STEPS))
    return strategy, baseline


def burst(steps: dict[int, np.ndarray], seed: int, share: float = 0.2, slowdown: float = 5.0) -> dict:
    """The same step times with `share` of every seed's steps slowed `slowdown`-fold (background load)."""
    rng = np.random.default_rng(seed)
    out = {}
    for s, values in steps.items():
        hit = rng.choice(values.size, size=round(share * values.size), replace=False)
        out[s] = values.copy()
        out[s][hit] *= slowdown
    return out


@pytest.mark.parametrize("side", ["baseline", "strategy"])
def test_bursts_move_the_robust_reduction_little_and_wall_clock_a_lot(side: str) -> None:
    strategy, baseline = jittered(0.6, 0.05, seed=11)
    robust_clean = robust_reduction(strategy, baseline)[0]
    wall_clean = wallclock_reduction(strategy, baseline)[0]
    assert robust_clean == pytest.approx(0.4, abs=0.02)
    assert wall_clean == pytest.approx(0.4, abs=0.02)
    if side == "baseline":
        baseline = burst(baseline, seed=12)  # a fifth of the baseline's steps run 5x slower
    else:
        strategy = burst(strategy, seed=12)
    robust_hit, lo, hi = robust_reduction(strategy, baseline)
    wall_hit = wallclock_reduction(strategy, baseline)[0]
    print(f"\n{side} bursts: robust {robust_clean:.4f} -> {robust_hit:.4f} [{lo:.4f}, {hi:.4f}]; "
          f"wall-clock {wall_clean:.4f} -> {wall_hit:.4f}")
    assert abs(robust_hit - robust_clean) < 0.02
    assert abs(wall_hit - wall_clean) > 0.10
    assert lo < robust_hit < hi and lo < 0.4 < hi


def test_noise_free_equals_wall_clock_and_one_minus_ratio() -> None:
    baseline = {s: step_lengths(s) for s in SEEDS}
    strategy = {s: 0.6 * v for s, v in baseline.items()}
    estimate, lo, hi = robust_reduction(strategy, baseline)
    wall = wallclock_reduction(strategy, baseline)[0]
    assert estimate == pytest.approx(wall, abs=1e-12)
    assert estimate == pytest.approx(0.4, abs=1e-12)  # 1 - 0.6
    assert lo == pytest.approx(0.4, abs=1e-12) and hi == pytest.approx(0.4, abs=1e-12)


def test_ratio_varying_by_step_estimates_the_time_weighted_ratio() -> None:
    # A fixed 0.1 s per step (optimizer, loss) on top of 0.6x the token work: the per-step ratio runs from
    # 0.6 + 0.1/1.2 = 0.683 to 0.6 + 0.1/0.4 = 0.85, so no step is a burst and the estimate is the wall-clock
    # reduction 1 - sum(s)/sum(b) (0.2832), not a typical step's ratio: the geometric mean of the ratios (what
    # a Hodges-Lehmann or mean log-ratio estimate targets) gives 0.2742, a point lower.
    baseline = {s: step_lengths(s) for s in SEEDS}
    strategy = {s: 0.6 * v + 0.1 for s, v in baseline.items()}
    wall = float(np.mean([1.0 - strategy[s].sum() / baseline[s].sum() for s in SEEDS]))
    assert robust_reduction(strategy, baseline)[0] == pytest.approx(wall, abs=1e-12)
    assert wall == pytest.approx(0.2832, abs=1e-4)
    log_ratios = np.concatenate([np.log(strategy[s] / baseline[s]) for s in SEEDS])
    assert 1.0 - np.exp(log_ratios.mean()) == pytest.approx(0.2742, abs=1e-4)


def test_unpaired_seeds_ignored_and_bad_input_rejected() -> None:
    baseline = {s: step_lengths(s) for s in SEEDS}
    strategy = {0: 0.5 * baseline[0], 7: np.ones(STEPS)}
    assert robust_reduction(strategy, baseline)[0] == pytest.approx(0.5, abs=1e-12)  # seed 0 only
    with pytest.raises(ValueError):
        robust_reduction({1: np.ones(3)}, {2: np.ones(3)})  # no shared seed
    with pytest.raises(ValueError):
        robust_reduction({0: np.ones(3)}, {0: np.ones(4)})  # lengths differ
    with pytest.raises(ValueError):
        robust_reduction({0: np.array([1.0, 0.0])}, {0: np.ones(2)})  # a zero-length step
    with pytest.raises(ValueError):
        robust_reduction({0: np.ones(2)}, {0: np.ones(2)}, confidence=1.0)


def test_deterministic_for_a_seed() -> None:
    # Its speed (under 0.1 s) is a benchmark: benchmarks/test_microbench.py::test_robust_reduction_on_three_seeds.
    strategy, baseline = jittered(0.6, 0.1, seed=21)
    assert robust_reduction(strategy, baseline, seed=3) == robust_reduction(strategy, baseline, seed=3)
    assert robust_reduction(strategy, baseline, seed=3) != robust_reduction(strategy, baseline, seed=4)


def test_kept_steps_leaves_out_the_burst_pairs_only() -> None:
    baseline = np.array([1.0, 1.1, 0.9, 1.0, 5.0, 5.5, 1.0, 1.05])  # steps 4 and 5 hit by a burst
    strategy = np.array([0.6, 0.65, 0.55, 0.6, 0.6, 0.62, 0.58, 0.6])
    assert kept_steps(strategy, baseline).tolist() == [True, True, True, True, False, False, True, True]
    assert kept_steps(strategy, strategy * 1.5).all()  # a constant ratio: nothing is a burst
