"""Statistics for comparing a strategy with the baseline across paired seeds and shared test queries.

Runs of a strategy and of the baseline use the same seeds and the same test queries, so comparisons pair
them: by seed for wall-clock time, by seed and query for quality metrics. Quality intervals come from a
two-level bootstrap (seeds, then queries) because both the training seed and the finite test set add
noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

# Bound on the int64/float64 elements drawn per bootstrap chunk (~32 MiB each), so Q ~ 20k and
# n_boot ~ 2000 never materialise an [n_boot, Q] matrix at once.
_CHUNK_ELEMENTS = 1 << 22


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float | None, float | None]:
    """Mean over seeds with a Student-t interval; (mean, None, None) when fewer than 2 values.

    Seeds are few (typically 3-5), so the t quantile, not 1.96, is what keeps the interval honest.
    """
    _check_confidence(confidence)
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError("mean_ci needs a non-empty sequence of numbers")
    mean = float(x.mean())
    if x.size < 2:
        return mean, None, None
    from scipy.special import stdtrit  # the t quantile, without importing all of scipy.stats (1.5 s)

    t = float(stdtrit(x.size - 1, 0.5 + confidence / 2.0))
    half = t * float(x.std(ddof=1)) / math.sqrt(x.size)
    return mean, mean - half, mean + half


def time_reductions(strategy_seconds: dict[int, float], baseline_seconds: dict[int, float]) -> list[float]:
    """Per shared seed (sorted), the fractional time saved `1 - s/b`; unpaired seeds are ignored.

    Pairing by seed cancels per-seed effects (data order, machine state) shared by both runs.
    """
    out = []
    for seed in sorted(strategy_seconds.keys() & baseline_seconds.keys()):
        base = baseline_seconds[seed]
        if not base > 0:
            raise ValueError(f"baseline time for seed {seed} must be positive, got {base}")
        out.append(1.0 - strategy_seconds[seed] / base)
    return out


def _as_matrix(per_query: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(per_query, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty [seeds, queries] matrix, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains non-finite values")
    return x


def _resample_counts(rng: np.random.Generator, n_rows: int, size: int) -> np.ndarray:
    """[n_rows, size] float counts: how often each of `size` items is drawn in each replicate."""
    idx = rng.integers(0, size, size=(n_rows, size))
    idx += (np.arange(n_rows) * size)[:, None]
    return np.bincount(idx.ravel(), minlength=n_rows * size).reshape(n_rows, size).astype(np.float64)


def bootstrap_many(
    matrices: Sequence[np.ndarray], n_boot: int = 2000, seed: int = 0, confidence: float = 0.95
) -> list[tuple[float, float, float]]:
    """Grand mean and percentile CI of each same-shaped [S, Q] matrix, all from the same replicates.

    Each replicate resamples rows (seeds) and columns (queries) with replacement. A replicate's mean over
    x[rows][:, cols] equals r @ x @ c / (S * Q), where r and c count how often each row and column was
    drawn, so no [S, Q] copy is built per replicate, and many matrices share one matrix product.
    """
    _check_confidence(confidence)
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    checked = [_as_matrix(m, "per_query") for m in matrices]
    if not checked:
        return []
    if len({m.shape for m in checked}) != 1:
        raise ValueError("bootstrap_many needs matrices of one [seeds, queries] shape")
    k, (s, q) = len(checked), checked[0].shape
    flat = np.stack(checked).reshape(k * s, q)
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_boot, _CHUNK_ELEMENTS // max(q, s)))
    replicates = np.empty((k, n_boot), dtype=np.float64)
    for start in range(0, n_boot, chunk):
        n = min(chunk, n_boot - start)
        rows = _resample_counts(rng, n, s)  # S == 1 always gives all-ones: only queries resampled
        cols = _resample_counts(rng, n, q)
        per_row = (cols @ flat.T).reshape(n, k, s)
        replicates[:, start : start + n] = np.einsum("bs,bks->kb", rows, per_row) / (s * q)
    alpha = 1.0 - confidence
    lo, hi = np.quantile(replicates, [alpha / 2.0, 1.0 - alpha / 2.0], axis=1)
    return [(float(m.mean()), float(a), float(b)) for m, a, b in zip(checked, lo, hi, strict=True)]


def bootstrap_mean_ci(
    per_query: np.ndarray, n_boot: int = 2000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean of a per-query metric [S, Q] over seeds and queries, with a two-level percentile bootstrap CI.

    Each replicate resamples seeds (rows) and queries (columns) with replacement, the same columns for
    every row. A fixed `seed` makes the result deterministic.
    """
    return bootstrap_many([per_query], n_boot, seed, confidence)[0]


def paired_bootstrap_delta(
    a: np.ndarray, b: np.ndarray, n_boot: int = 2000, seed: int = 0, confidence: float = 0.95
) -> tuple[float, float, float]:
    """Mean of (a - b) and its two-level paired bootstrap CI, as (delta, lo, hi).

    Row i of a and b is the same seed and column j the same test query, so resampling the differences
    keeps the pairing; seed and query effects shared by both cancel and the interval is narrower.
    """
    a = _as_matrix(a, "a")
    b = _as_matrix(b, "b")
    if a.shape != b.shape:
        raise ValueError(f"a {a.shape} and b {b.shape} must have the same [seeds, queries] shape")
    return bootstrap_many([a - b], n_boot, seed, confidence)[0]


class Components(NamedTuple):
    """A paired [seeds, queries] difference matrix's mean, split by what would shrink it: Var(mean) =
    seed / S + query / Q + residual / (S Q), each a variance component estimate (clipped at 0)."""

    mean: float
    seeds: int
    queries: int
    seed: float
    """sigma_u^2: how much one training seed's difference moves, test set fixed."""
    query: float
    """sigma_a^2: how much one test query's difference moves, persistent across seeds (the test set's part)."""
    residual: float
    """sigma_e^2: seed-by-query noise."""
    mean_square_seed: float
    mean_square_query: float
    mean_square_residual: float

    def _terms(self) -> list[tuple[float, float, int]]:
        """Var(mean) as a sum of (coefficient, mean square, df): MS_seed / (S Q) estimates seed / S + residual /
        (S Q) and is always kept (dropping it when it happens to come out small is what makes few-seed intervals
        too narrow); (MS_query - MS_residual) / (S Q) estimates query / Q, left out when below 0."""
        s, q = self.seeds, self.queries
        if s == 1:  # seed noise not estimable: the query part only
            return [(1.0 / q, self.mean_square_query, q - 1)]
        terms = [(1.0 / (s * q), self.mean_square_seed, s - 1)]
        if self.query > 0:
            terms += [(1.0 / (s * q), self.mean_square_query, q - 1),
                      (-1.0 / (s * q), self.mean_square_residual, (s - 1) * (q - 1))]
        return terms

    @property
    def variance(self) -> float:
        """Var(mean) = seed / S + query / Q + residual / (S Q)."""
        return max(0.0, sum(c * ms for c, ms, _ in self._terms()))

    def degrees_of_freedom(self) -> float:
        """Satterthwaite's df of `variance`: near S - 1 when seed noise dominates, large when queries do."""
        denominator = sum((c * ms) ** 2 / df for c, ms, df in self._terms() if df > 0)
        return math.inf if denominator == 0 else max(1.0, self.variance**2 / denominator)

    def limit_half_width(self, confidence: float) -> float:
        """Half-width with infinitely many seeds: the fixed test set's part, z sqrt(query / Q)."""
        return _normal_quantile(confidence) * math.sqrt(self.query / self.queries)


def components(delta: np.ndarray) -> Components:
    """Two-way random-effects ANOVA (seeds x queries, one observation a cell) of paired differences."""
    x = _as_matrix(delta, "delta")
    s, q = x.shape
    mean = float(x.mean())
    by_seed, by_query = x.mean(axis=1), x.mean(axis=0)
    ss_seed = q * float(((by_seed - mean) ** 2).sum())
    ss_query = s * float(((by_query - mean) ** 2).sum())
    ss_residual = max(0.0, float(((x - mean) ** 2).sum()) - ss_seed - ss_query)
    ms_seed = ss_seed / (s - 1) if s > 1 else 0.0
    ms_query = ss_query / (q - 1) if q > 1 else 0.0
    ms_residual = ss_residual / ((s - 1) * (q - 1)) if s > 1 and q > 1 else (ms_query if s == 1 else 0.0)
    return Components(mean, s, q, seed=max(0.0, (ms_seed - ms_residual) / q) if s > 1 else 0.0,
                      query=max(0.0, (ms_query - ms_residual) / s) if s > 1 else 0.0,
                      residual=ms_residual, mean_square_seed=ms_seed, mean_square_query=ms_query,
                      mean_square_residual=ms_residual)


def _normal_quantile(confidence: float) -> float:
    from scipy.special import ndtri

    return float(ndtri(0.5 + confidence / 2.0))


def paired_delta_ci(delta: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of a paired [seeds, queries] difference matrix and its two-way random-effects t interval.

    Why not the two-level bootstrap: its seed level resamples 2-5 seeds, a plug-in spread that is too narrow
    (a 95% interval from 3 seeds covers ~80%), so verdicts declared too early, worst of all when seeds are
    added until one is declared. Here the variance of the mean is estimated from the two-way ANOVA mean
    squares (seeds, queries, residual), and the t quantile takes Satterthwaite's degrees of freedom: about
    S - 1 when seed noise dominates (few seeds, honest width), large when the fixed test set's query noise
    does. One seed: the query part only (t with Q - 1 df); seed noise is then not covered.
    Proved by simulation in tests/test_sequential.py.
    """
    return _t_interval(components(delta), confidence, between_seeds=False)


def between_seeds_ci(delta: np.ndarray, confidence: float = 0.95) -> tuple[float, float, float]:
    """`paired_delta_ci`'s mean and variance with the t quantile at no more than the between-seeds degrees of
    freedom, S - 1: never narrower than it, wider where queries dominate. For a claim whose false positive
    recommends a trick (`better than training less`): Satterthwaite's df, estimated from 3-5 seeds, runs high,
    and its one-sided false rate reached 4% where 2.5% is meant (tests/test_equal_time_verdict.py)."""
    return _t_interval(components(delta), confidence, between_seeds=True)


def _t_interval(parts: Components, confidence: float, between_seeds: bool) -> tuple[float, float, float]:
    _check_confidence(confidence)
    df = parts.degrees_of_freedom()
    if between_seeds and parts.seeds > 1 and not math.isinf(df):
        df = min(df, parts.seeds - 1.0)
    if math.isinf(df):  # no variance at all: a zero-width interval
        quantile = 0.0
    else:
        from scipy.special import stdtrit

        quantile = float(stdtrit(df, 0.5 + confidence / 2.0))
    half = quantile * math.sqrt(parts.variance)
    return parts.mean, parts.mean - half, parts.mean + half


def verdict(delta_lo: float | None, delta_hi: float | None, margin: float) -> str:
    """Non-inferiority call from a CI of (strategy - baseline), higher metric is better.

    "non-inferior" if the whole interval lies above -margin, "inferior" if it lies below -margin,
    otherwise (or without an interval) "inconclusive".
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if delta_lo is None or delta_hi is None:
        return "inconclusive"
    if delta_lo > -margin:
        return "non-inferior"
    if delta_hi < -margin:
        return "inferior"
    return "inconclusive"


def time_to_target(curve: Sequence[tuple[float, float]], target: float) -> float | None:
    """First time (seconds) of a time-ordered (seconds, value) curve at which value >= target; None if never.

    Uses evaluated points only (no interpolation): the time is one at which the target was observed.
    """
    for seconds, value in curve:
        if value >= target:
            return float(seconds)
    return None


def reduction(value: float | None, baseline: float | None) -> float | None:
    """Fractional saving `1 - value/baseline`; None when either is missing or the baseline is 0."""
    if value is None or baseline is None or baseline == 0:
        return None
    return 1.0 - value / baseline
