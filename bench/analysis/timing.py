"""Training-time reduction from paired per-step times, robust to bursts of background load.

For a given seed every strategy trains on the same batches in the same order, so step i of a strategy and
step i of the baseline did the same data work: their durations pair. Background load comes in bursts that
slow a few steps several-fold, and one burst in one run moves a wall-clock reduction by tens of points.

Estimator: a trimmed ratio of sums. Per seed, the paired log-ratios l_i = log(s_i / b_i) are taken; a step
whose l_i lies further from their median than `OUTLIER_ROBUST_SDS` robust SDs (1.4826 x MAD), and at least
`OUTLIER_LOG_FLOOR` away, is a burst on one side and its pair is left out; the seed's reduction is
1 - sum(s_kept) / sum(b_kept), and seeds are averaged as `stats.time_reductions` does with run totals.
Why this one:
- it estimates what the wall-clock reduction estimates: the baseline-time-weighted mean of the per-step
  ratios, i.e. the share of the baseline's time saved. When the ratio varies by step (batches of different
  token counts meet fixed per-step costs such as the optimizer), a median or Hodges-Lehmann estimate of the
  log-ratios would instead give the typical step's ratio, with short and long steps weighted alike, which
  is not the time saved;
- on noise-free data nothing is left out, so it equals the wall-clock reduction exactly, and a constant
  per-step ratio r gives 1 - r;
- median and MAD break down only when half of a seed's steps are hit, so a burst over a fifth of one side's
  steps is cut out while ordinary jitter (within the floor, ~20%) is never trimmed.
It assumes bursts are not aligned with step indices on both sides (then the ratio would not see them); a
burst that hits most of a run cannot be told from a real change of speed.

Interval: a two-level percentile bootstrap, seeds with replacement and, within each drawn seed, steps with
replacement (the pair kept together), the whole estimator, trimming included, recomputed per replicate.
"""

from __future__ import annotations

import math

import numpy as np

OUTLIER_ROBUST_SDS = 3.5
"""Iglewicz-Hoaglin's cut: |l - median| > 3.5 robust SDs marks an outlier."""

OUTLIER_LOG_FLOOR = math.log(1.2)
"""A step within 20% of the median ratio is never trimmed: jitter, not a burst (and no trimming at all on
noise-free or quantised times, where the MAD is 0)."""

_MAD_TO_SD = 1.4826  # MAD of a normal sample x 1.4826 = its SD


def _paired(strategy_steps: dict[int, np.ndarray],
            baseline_steps: dict[int, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per shared seed (sorted), the (strategy, baseline) step-time arrays, checked."""
    seeds = sorted(strategy_steps.keys() & baseline_steps.keys())
    if not seeds:
        raise ValueError("no seed has step times for both the strategy and the baseline")
    pairs = []
    for seed in seeds:
        s = np.asarray(strategy_steps[seed], dtype=np.float64)
        b = np.asarray(baseline_steps[seed], dtype=np.float64)
        if s.ndim != 1 or s.shape != b.shape or s.size == 0:
            raise ValueError(f"seed {seed}: step times must be 1-D arrays of one non-zero length, got "
                             f"{s.shape} and {b.shape}")
        if not (np.isfinite(s).all() and np.isfinite(b).all() and (s > 0).all() and (b > 0).all()):
            raise ValueError(f"seed {seed}: step times must be positive and finite")
        pairs.append((s, b))
    return pairs


def kept_steps(s: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which step pairs the robust estimator keeps (False: a burst on one side), along the last axis."""
    logs = np.log(s) - np.log(b)
    deviation = np.abs(logs - np.median(logs, axis=-1, keepdims=True))
    mad = np.median(deviation, axis=-1, keepdims=True)
    return deviation <= np.maximum(OUTLIER_ROBUST_SDS * _MAD_TO_SD * mad, OUTLIER_LOG_FLOOR)


def _seed_reductions(s: np.ndarray, b: np.ndarray, robust: bool) -> np.ndarray:
    """1 - sum(s)/sum(b) along the last axis ([..., steps] -> [...]), bursts trimmed when `robust`."""
    if not robust:
        return 1.0 - s.sum(axis=-1) / b.sum(axis=-1)
    keep = kept_steps(s, b)
    return 1.0 - (s * keep).sum(axis=-1) / (b * keep).sum(axis=-1)


def _reduction(strategy_steps: dict[int, np.ndarray], baseline_steps: dict[int, np.ndarray], robust: bool,
               confidence: float, n_boot: int, seed: int) -> tuple[float, float, float]:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    pairs = _paired(strategy_steps, baseline_steps)
    estimate = float(np.mean([_seed_reductions(s, b, robust) for s, b in pairs]))
    rng = np.random.default_rng(seed)
    n_seeds = len(pairs)
    drawn = rng.integers(0, n_seeds, size=(n_boot, n_seeds))  # level 1: seeds
    values = np.empty((n_boot, n_seeds), dtype=np.float64)
    for k, (s, b) in enumerate(pairs):  # level 2: each draw of seed k gets its own resample of its steps
        slots = drawn == k
        steps = rng.integers(0, s.size, size=(int(slots.sum()), s.size))
        values[slots] = _seed_reductions(s[steps], b[steps], robust)
    alpha = 1.0 - confidence
    lo, hi = np.quantile(values.mean(axis=1), [alpha / 2.0, 1.0 - alpha / 2.0])
    return estimate, float(lo), float(hi)


def robust_reduction(strategy_steps: dict[int, np.ndarray], baseline_steps: dict[int, np.ndarray],
                     confidence: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Time saved vs the baseline from paired per-step seconds, bursts trimmed: (estimate, lo, hi).

    `strategy_steps` and `baseline_steps` map a seed to its per-step seconds in step order (the same length
    for both sides of a seed); unpaired seeds are ignored. See the module docstring for the estimator and the
    two-level bootstrap interval; a fixed `seed` makes the interval deterministic.
    """
    return _reduction(strategy_steps, baseline_steps, True, confidence, n_boot, seed)


def wallclock_reduction(strategy_steps: dict[int, np.ndarray], baseline_steps: dict[int, np.ndarray],
                        confidence: float = 0.95, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """Today's per-seed `1 - t/t_base` from summed step times, averaged over seeds, with the same two-level
    bootstrap as `robust_reduction`: the untrimmed counterpart, to compare the two on the same data."""
    return _reduction(strategy_steps, baseline_steps, False, confidence, n_boot, seed)
