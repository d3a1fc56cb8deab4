"""Adding seeds until a verdict settles, without inflating false wins: a group-sequential correction.

A run adds seeds in rounds; after each round a strategy whose headline verdict is decided stops and the
others get another seed, up to `max_looks` seeds. Looking at a 95% interval after every round and stopping
at the first one above -margin declares a strategy that is exactly at the margin non-inferior far more
often than 2.5% (with 9 looks, about 8%). Here each look gets a wider interval, its confidence chosen so that

    P(any look declares "non-inferior" | true difference = -margin) <= alpha / 2

and, the interval being symmetric, the same for a false "inferior". That one-sided error is the one
controlled; stopping early for "inferior" can only lower it (the boundaries ignore it: non-binding).

Why Lan-DeMets alpha spending with the O'Brien-Fleming-type function, information fraction = seeds / max:
- Bonferroni (alpha / looks per look) ignores that successive looks share their seeds; it is valid but
  needlessly wide at every look, the last included (99.5%), and costs power where the seeds are;
- Pocock-type spending spends evenly, so the last look is nearly as wide as the first (98.7% at 10 seeds
  against 96.3%);
- O'Brien-Fleming-type spending spends almost nothing at 2-3 seeds, where the seed spread is estimated from
  one or two degrees of freedom and an interval is least trustworthy, and keeps the last look near 95%;
- spending (rather than fixed boundaries) needs no fixed schedule: a look skipped is spent at the next.
Boundaries come from the exact joint normal law of the looks (the score is a Brownian motion in
information), by the usual recursive numerical integration (Armitage, McPherson and Rowe; Jennison and
Turnbull, ch. 19). The result is a confidence level, not a z value, so `stats.mean_ci` (Student-t) or a
bootstrap at that level applies the same tail probability when the variance is estimated.
Limits (tests/test_sequential.py): exact for an interval of known variance; Student-t intervals from 2-10
seeds leave ~3% instead of 2.5%; a plug-in seed spread (the bootstrap's) from 2-3 seeds leaves 11-16%. The
information fraction seeds / max assumes seeds add independent information (a fixed test set's query
noise does not shrink with seeds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from scipy.special import ndtr, ndtri

from bench.analysis import equal_time, stats
from bench.analysis.rows import Interval, Row
from bench.config.schema import MAX_SEED
from bench.errors import BenchError
from bench.metrics import BY_NAME

SPENDING = ("obrien-fleming", "pocock", "bonferroni")
_GRID = 2001  # points per look for the numerical integration (boundaries good to ~1e-4 in z)
_LOW = -9.0  # integrate the score down to 9 SDs: the mass below is < 1e-18


def spent(t: float, alpha_one_sided: float, spending: str = "obrien-fleming") -> float:
    """Cumulative one-sided error allowed by information fraction t in (0, 1] (Lan-DeMets)."""
    if not 0.0 < t <= 1.0:
        raise ValueError(f"information fraction must lie in (0, 1], got {t}")
    if spending == "obrien-fleming":
        return float(2.0 * (1.0 - ndtr(ndtri(1.0 - alpha_one_sided / 2.0) / math.sqrt(t))))
    if spending == "pocock":
        return alpha_one_sided * math.log(1.0 + (math.e - 1.0) * t)
    if spending == "bonferroni":
        return alpha_one_sided * t
    raise ValueError(f"spending must be one of {SPENDING}, got {spending!r}")


def _simpson(grid: np.ndarray) -> np.ndarray:
    """Simpson's rule weights on a uniform grid of an odd number of points."""
    weights = np.full(grid.size, 2.0)
    weights[1::2] = 4.0
    weights[0] = weights[-1] = 1.0
    return weights * (grid[1] - grid[0]) / 3.0


def _crossing(mass: np.ndarray, grid: np.ndarray, step: float, bound: float) -> float:
    """P(score stays below the previous bounds, then ends above `bound` after an increment of variance `step`);
    `mass` is the previous density times the quadrature weights."""
    return float(mass @ ndtr((grid - bound) / math.sqrt(step)))


def _solve(f, target: float, lo: float, hi: float) -> float:
    """Bisection for decreasing f: f(x) = target on [lo, hi]."""
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if f(mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


@lru_cache(maxsize=64)
def boundaries(max_looks: int, alpha: float = 0.05, first_look: int = 1,
               spending: str = "obrien-fleming") -> tuple[float, ...]:
    """Upper z boundaries for looks first_look, ..., max_looks (look k at information k / max_looks).

    Bonferroni gives each look its increment of alpha_one_sided * k / max_looks on its own (no integration).
    """
    if not 1 <= first_look <= max_looks:
        raise ValueError(f"looks must satisfy 1 <= first_look <= max_looks, got {first_look}, {max_looks}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    a = alpha / 2.0
    times = [k / max_looks for k in range(first_look, max_looks + 1)]
    increments = np.diff([0.0] + [spent(t, a, spending) for t in times])
    if spending == "bonferroni":
        return tuple(float(ndtri(1.0 - inc)) for inc in increments)
    bounds: list[float] = []
    grid = density = None
    previous = 0.0
    for t, inc in zip(times, increments, strict=True):
        if grid is None:  # first look: the score S = Z sqrt(t) is N(0, t)
            bound = math.sqrt(t) * float(ndtri(1.0 - inc))
            new_grid = np.linspace(_LOW * math.sqrt(t), bound, _GRID)
            new_density = np.exp(-0.5 * new_grid**2 / t) / math.sqrt(2.0 * math.pi * t)
        else:
            step = t - previous
            mass = density * _simpson(grid)
            bound = _solve(lambda b, g=grid, m=mass, s=step: _crossing(m, g, s, b), float(inc),
                           float(grid[0]), float(grid[-1]) + 12.0 * math.sqrt(step))
            new_grid = np.linspace(_LOW * math.sqrt(t), bound, _GRID)
            kernel = np.exp(-0.5 * (new_grid[:, None] - grid[None, :]) ** 2 / step) / math.sqrt(2 * math.pi * step)
            new_density = kernel @ mass
        bounds.append(float(bound) / math.sqrt(t))
        grid, density, previous = new_grid, new_density, t
    return tuple(bounds)


def look_confidence(look: int, max_looks: int, alpha: float = 0.05, first_look: int = 1,
                    spending: str = "obrien-fleming") -> float:
    """Two-sided confidence level of the interval at `look` (= seeds so far, information look / max_looks).

    Looks happen at first_look, first_look + 1, ..., max_looks seeds. Verdicts from intervals at these levels
    keep the chance of ever declaring "non-inferior" when the true difference is exactly -margin at or
    below alpha / 2 (likewise a false "inferior"), provided each interval has its nominal coverage.
    """
    if not first_look <= look <= max_looks:
        raise ValueError(f"look {look} is outside [{first_look}, {max_looks}]")
    z = boundaries(max_looks, alpha, first_look, spending)[look - first_look]
    return float(2.0 * ndtr(z) - 1.0)


def decide(lo: float | None, hi: float | None, margin: float, look: int, max_looks: int) -> tuple[str, bool]:
    """(verdict, stop) for an interval drawn at `look_confidence(look, ...)`: stop once decided, or at the
    last look, where an undecided strategy stays "inconclusive"."""
    verdict = stats.verdict(lo, hi, margin)
    return verdict, verdict != "inconclusive" or look >= max_looks


class Limit(NamedTuple):
    """What keeps an undecided strategy undecided: "seed" (more seeds would settle it; `seeds_needed` total,
    None when it cannot be estimated) or "query" (more test queries or a wider margin are needed)."""

    kind: str
    seeds_needed: int | None


def seed_limited_or_query_limited(per_seed_deltas: Sequence[float], query_half_width: float, margin: float,
                                  confidence: float = 0.95) -> Limit:
    """Can more seeds settle the verdict? Compares the distance from the mean delta to -margin with what an
    interval would shrink to.

    The seed part of the half-width, z * sd / sqrt(seeds), vanishes with infinitely many seeds; the query part
    (`query_half_width`, the half-width from resampling queries alone) does not, as the test set is fixed. If
    it alone reaches -margin, the strategy is query-limited. Otherwise the seeds needed are the smallest n with
    sqrt(query_half_width^2 + (z sd / sqrt(n))^2) < distance: the two parts added as independent normal
    errors, the mean and sd assumed to stay where they are (an estimate, not a promise). With the sequential
    correction, pass the confidence of the last look.
    """
    x = np.asarray(per_seed_deltas, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.isfinite(x).all():
        raise ValueError("per_seed_deltas must be a non-empty sequence of finite numbers")
    if query_half_width < 0 or margin < 0:
        raise ValueError("query_half_width and margin must be >= 0")
    distance = abs(float(x.mean()) + margin)
    if query_half_width >= distance:
        return Limit("query", None)
    if x.size < 2:
        return Limit("seed", None)
    z = float(ndtri(0.5 + confidence / 2.0))
    sd = float(x.std(ddof=1))
    needed = math.ceil(z * z * sd * sd / (distance**2 - query_half_width**2))
    return Limit("seed", max(needed, x.size + 1))


@dataclass(frozen=True)
class Decision:
    """Where a strategy ended: its verdict, after how many seeds, from which interval; for one still open,
    what limits it ("seed": more seeds would settle it, "query": the test set's noise alone reaches the
    margin)."""

    strategy: str
    verdict: str
    seeds: int
    confidence: float
    delta: float | None
    interval: Interval | None
    limit: str | None = None
    seeds_needed: int | None = None
    # The second decision, against the strategy's equal-time control at the same look's level (None: no control).
    equal_time_verdict: str | None = None
    equal_time_delta: float | None = None
    equal_time_interval: Interval | None = None

    @property
    def headline_decided(self) -> bool:
        return self.verdict != "inconclusive"

    @property
    def decided(self) -> bool:
        """Both decisions reached: the headline verdict, and better than training less where a control ran."""
        return self.headline_decided and self.equal_time_verdict in (None, *equal_time.DECIDED)


def next_seed(seeds: list[int]) -> int:
    """The smallest unused seed above the largest so far."""
    seed = max(seeds) + 1
    if seed > MAX_SEED:
        raise BenchError(f"no seed left above {max(seeds)}; list smaller seeds in the suite")
    return seed


def decide_row(row: Row, margin: float, first: int, max_seeds: int, confidence: float) -> tuple[Decision, bool]:
    """A strategy's decision at this look, and whether it stops: its headline verdict decided (or `futile`) and,
    where it has an equal-time control, its second verdict decided too; or the last look. Both verdicts come
    from intervals at this look's level, so the same alpha spending bounds a false `better than training less`
    (true difference 0) as it bounds a false `non-inferior` (true difference -margin)."""
    metric = BY_NAME[row.headline_metric]
    interval = row.headline.delta_ci
    lo, hi = (None, None) if interval is None else metric.gain_bounds(interval.lo, interval.hi)
    verdict, stop = decide(lo, hi, margin, row.runs, max_seeds) if row.runs >= first else ("inconclusive", False)
    limit, needed = (None, None) if verdict != "inconclusive" else (row.limit, row.seeds_needed)
    if not stop and row.runs >= first and futile(lo, hi, margin, row.query_half_width):
        stop, limit, needed = True, "query", None
    second = row.equal_time_verdict
    if second is not None:
        if row.runs < first:
            second = equal_time.UNDECIDED
        stop = (stop and second in equal_time.DECIDED) or (row.runs >= first and row.runs >= max_seeds)
    has = row.equal_time_low is not None and row.equal_time_high is not None
    return Decision(row.strategy, verdict, row.runs, confidence, row.headline.delta, interval, limit, needed,
                    second, row.equal_time_delta,
                    Interval(row.equal_time_low, row.equal_time_high) if has else None), stop


def futile(lo: float | None, hi: float | None, margin: float, query_half_width: float | None) -> bool:
    """No number of seeds can settle it: wherever in this look's interval the true difference lies, it is within
    the fixed test set's own half-width of -margin, so even a seed-noise-free interval would straddle -margin.
    Judged on the interval, not the point estimate, so a mean that seed noise has pulled towards the margin does
    not stop a strategy early."""
    if lo is None or hi is None or query_half_width is None:
        return False
    return -margin - query_half_width < lo and hi < -margin + query_half_width
