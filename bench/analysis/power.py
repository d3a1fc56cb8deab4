"""Planning a comparison before running it: what a number of seeds on a test set of a given size can resolve.

A strategy's headline verdict comes from the two-way interval of its paired [seeds, queries] difference from the
baseline (`stats.paired_delta_ci`). Its variance is seed / S + query / Q + residual / (S Q): the seed part shrinks
with seeds, the query part only with test pairs. Given those three parts (from a pilot or stored runs) and a
true difference, the chance that S seeds decide the verdict is the chance that the interval clears -margin:

    power(S) = Phi(|delta + margin| / se(S) - t(df(S)))

with t the interval's quantile at Satterthwaite's df, computed from the mean squares the parts imply. The other
side's tail (an interval wholly on the wrong side of -margin) is counted too, though it is tiny. Checked against
simulation in tests/test_power.py; planned power is an estimate: the pilot's parts and delta are themselves noisy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.special import ndtr, ndtri, stdtrit

from bench.analysis.stats import Components

TARGET_POWER = 0.8
MAX_PLANNED_SEEDS = 100


@dataclass(frozen=True)
class Noise:
    """The variance parts of a paired difference: seed (sigma_u^2), query (sigma_a^2, the test set's part) and
    seed-by-query (sigma_e^2), on a test set of `queries` pairs."""

    seed: float
    query: float
    residual: float
    queries: int

    @classmethod
    def of(cls, parts: Components) -> Noise:
        return cls(parts.seed, parts.query, parts.residual, parts.queries)

    def variance(self, seeds: int, queries: int | None = None) -> float:
        q = queries or self.queries
        return self.seed / seeds + self.query / q + self.residual / (seeds * q)

    def standard_error(self, seeds: int, queries: int | None = None) -> float:
        return math.sqrt(self.variance(seeds, queries))

    def degrees_of_freedom(self, seeds: int, queries: int | None = None) -> float:
        """Satterthwaite's df of the interval's variance, from the expected mean squares (as `Components` does
        from observed ones): E[MS_seed] = Q seed + residual, E[MS_query] = S query + residual."""
        q = queries or self.queries
        if seeds < 2:
            return max(1.0, q - 1.0)
        ms_seed, ms_query = q * self.seed + self.residual, seeds * self.query + self.residual
        terms = [(ms_seed, seeds - 1)]
        if self.query > 0:
            terms += [(ms_query, q - 1), (-self.residual, (seeds - 1) * (q - 1))]
        total = sum(ms for ms, _ in terms)
        denominator = sum(ms * ms / df for ms, df in terms if df > 0)
        return math.inf if denominator == 0 else max(1.0, total * total / denominator)

    def quantile(self, seeds: int, confidence: float, queries: int | None = None) -> float:
        df = self.degrees_of_freedom(seeds, queries)
        tail = 0.5 + confidence / 2.0
        return float(ndtri(tail)) if math.isinf(df) else float(stdtrit(df, tail))


def power(noise: Noise, delta: float, margin: float, seeds: int, confidence: float = 0.95,
          queries: int | None = None) -> float:
    """Chance that an interval from `seeds` seeds (and `queries` test pairs) lies wholly on one side of -margin
    when the true difference (higher is better) is `delta`."""
    se = noise.standard_error(seeds, queries)
    distance = delta + margin
    if se == 0:
        return 1.0 if distance != 0 else 0.0
    t = noise.quantile(seeds, confidence, queries)
    return float(ndtr(abs(distance) / se - t) + ndtr(-abs(distance) / se - t))


def seeds_needed(noise: Noise, delta: float, margin: float, confidence: float = 0.95, target: float = TARGET_POWER,
                 most: int = MAX_PLANNED_SEEDS) -> int | None:
    """The fewest seeds (2 or more) whose power reaches `target`; None when even `most` seeds do not (the test
    set's own noise reaches past the margin)."""
    for seeds in range(2, most + 1):
        if power(noise, delta, margin, seeds, confidence) >= target:
            return seeds
    return None


def smallest_resolvable(noise: Noise, seeds: int, confidence: float = 0.95, target: float = TARGET_POWER,
                        queries: int | None = None) -> float:
    """The smallest distance |delta + margin| that `seeds` seeds decide with `target` power on this test set."""
    return (noise.quantile(seeds, confidence, queries) + float(ndtri(target))) * noise.standard_error(seeds, queries)


def limit_resolvable(noise: Noise, confidence: float = 0.95, target: float = TARGET_POWER) -> float:
    """`smallest_resolvable` with infinitely many seeds: what the test set's own noise leaves."""
    k = float(ndtri(0.5 + confidence / 2.0)) + float(ndtri(target))
    return k * math.sqrt(noise.query / noise.queries)


def queries_needed(noise: Noise, delta: float, margin: float, seeds: int, confidence: float = 0.95,
                   target: float = TARGET_POWER) -> int | None:
    """About how many test pairs `seeds` seeds need to decide with `target` power; None when the seed part alone
    is too wide (more pairs cannot help at that many seeds). Uses the normal quantile: with many pairs the
    interval's df are large unless seed noise dominates, which is the None case."""
    k = float(ndtri(0.5 + confidence / 2.0)) + float(ndtri(target))
    room = (delta + margin) ** 2 / (k * k) - noise.seed / seeds
    if room <= 0:
        return None
    return math.ceil((noise.query + noise.residual / seeds) / room)


def supported_margins(noise: Noise, delta: float, seeds: int, confidence: float = 0.95,
                      target: float = TARGET_POWER) -> tuple[float, float]:
    """(below, above): at `seeds` seeds on this test set a margin at or below `below` decides "inferior" and one at
    or above `above` decides "non-inferior", with `target` power, for a strategy whose true difference is
    `delta`; margins in between stay open. `below` is negative when no margin can call it inferior."""
    reach = smallest_resolvable(noise, seeds, confidence, target)
    return -delta - reach, -delta + reach


def equal_time_power(noise: Noise, delta: float, margin: float, seeds: int, confidence: float = 0.95) -> float:
    """Chance that an interval of (strategy - equal-time control), true difference `delta`, decides the second
    verdict: wholly above or below 0 (better, worse), or wholly within +-margin (no better). The larger of the two
    chances: a lower bound on deciding either way, as the events overlap."""
    se = noise.standard_error(seeds)
    if se == 0:
        return 1.0
    df = min(noise.degrees_of_freedom(seeds, None), max(1, seeds - 1))  # as `stats.between_seeds_ci` takes it
    t = float(stdtrit(df, 0.5 + confidence / 2.0))
    sided = float(ndtr(abs(delta) / se - t) + ndtr(-abs(delta) / se - t))
    within = float(ndtr((margin - delta) / se - t) + ndtr((margin + delta) / se - t) - 1.0)
    return max(sided, within, 0.0)
