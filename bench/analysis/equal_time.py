"""Better than training less? A strategy against its equal-time control, paired by seed and query.

A strategy 40% faster and non-inferior to the full baseline only beats what the user could have had anyway if it
also beats the baseline trained for 60% of its steps. The control is an ordinary stored run of the registered
strategy `equal-time` with `params == {"matches": "<the strategy's label>"}` (same seed, same data order, its
schedule cut to the strategy's training time); a ladder rung (`{"fraction": 0.5}`) is the baseline at a fixed
share of its steps. Both are compared with the full baseline like any strategy; here each strategy with a control
in its cell gets a second verdict, from the two-way variance of its delta vs the baseline with the t quantile at
S - 1 degrees of freedom (`stats.between_seeds_ci`: a false `better` recommends a trick, so the conservative
df), at the same confidence, so `--until-decided`'s look confidences keep it honest too.
"""

from __future__ import annotations

import numpy as np

from bench.analysis import stats
from bench.analysis.rows import Row
from bench.config import EQUAL_TIME, StatsConfig
from bench.metrics import BY_NAME

__all__ = ["BETTER", "DECIDED", "EQUAL_TIME", "NO_BETTER", "UNDECIDED", "WORSE", "compare", "is_equal_time",
           "matches", "paired", "time_ratio", "verdict"]
BETTER, NO_BETTER, WORSE, UNDECIDED = "better than training less", "no better", "worse", "undecided"
DECIDED = (BETTER, NO_BETTER, WORSE)


def is_equal_time(row: Row) -> bool:
    """A control or a ladder rung: the baseline cut short, compared like a strategy but never matched itself."""
    return row.name == EQUAL_TIME


def matches(row: Row) -> str | None:
    """The label of the strategy a control matches; None for a rung or any other row."""
    if not is_equal_time(row) or not isinstance(row.params, dict):
        return None
    value = row.params.get("matches")
    return value if isinstance(value, str) else None


def verdict(lo: float | None, hi: float | None, margin: float) -> str:
    """The second verdict from an interval of (strategy - control), higher is better: better if the whole
    interval is above 0, no better if it lies within +-margin, worse if it is below 0, else undecided (no
    interval: undecided). Why 0 and not the margin for `better`: the control costs the same time, so any gain
    it shows is the strategy's own."""
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if lo is None or hi is None:
        return UNDECIDED
    if lo > 0:
        return BETTER
    if -margin < lo and hi < margin:
        return NO_BETTER
    if hi < 0:
        return WORSE
    return UNDECIDED


def time_ratio(control: list[float | None], strategy: list[float | None]) -> float | None:
    """The control's training seconds over the strategy's, median over the paired seeds: how well the budgets
    matched (None where a seed lacks a time or a strategy trained for no time)."""
    pairs = [(c, s) for c, s in zip(control, strategy, strict=True) if c is not None and s]
    if not pairs or len(pairs) < len(control):
        return None
    return float(np.median([c / s for c, s in pairs]))


def paired(strategy: np.ndarray, strategy_seeds: list[int], control: np.ndarray,
           control_seeds: list[int]) -> tuple[np.ndarray, list[int]]:
    """(strategy - control) per [seed, query] over the seeds both have, sorted; an empty matrix if none."""
    shared = sorted(set(strategy_seeds) & set(control_seeds))
    if not shared:
        return np.empty((0, strategy.shape[1])), []
    rows = [strategy_seeds.index(seed) for seed in shared]
    other = [control_seeds.index(seed) for seed in shared]
    return np.asarray(strategy)[rows] - np.asarray(control)[other], shared


def compare(cfg: StatsConfig, pending: list[tuple[Row, dict[str, np.ndarray], dict[str, np.ndarray]]],
            seconds: dict[str, dict[int, float]]) -> None:
    """Fill each matched row's equal-time fields from the cell's per-query matrices (`pending`, as the
    leaderboard built them, seeds sorted) and each label's per-seed training seconds; rows with no control
    stay None."""
    controls = {matches(row): (row, matrix) for row, matrix, _ in pending if matches(row)}
    for row, matrix, _ in pending:
        if is_equal_time(row) or row.verdict == "baseline" or row.strategy not in controls:
            continue
        control, control_matrix = controls[row.strategy]
        metric = BY_NAME[row.headline_metric]
        delta, shared = paired(matrix[metric.name], row.seeds, control_matrix[metric.name], control.seeds)
        if not shared:
            continue
        mean, lo, hi = stats.between_seeds_ci(delta, cfg.confidence)
        row.equal_time_delta = metric.gain(mean)
        row.equal_time_low, row.equal_time_high = metric.gain_bounds(lo, hi)
        row.equal_time_verdict = verdict(row.equal_time_low, row.equal_time_high, cfg.margin)
        times = [seconds.get(control.strategy, {}).get(seed) for seed in shared]
        own = [seconds.get(row.strategy, {}).get(seed) for seed in shared]
        row.equal_time_seconds = float(np.mean(times)) if all(t is not None for t in times) else None
        row.equal_time_ratio = time_ratio(times, own)
        parts = stats.components(delta)  # variances: the metric's direction does not matter
        row.equal_time_noise = [parts.seed, parts.query, parts.residual, parts.queries]
