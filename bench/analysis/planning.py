"""A plan before the run: for each strategy, from its pilot (or stored) rows, what the seeds and the test set
can decide at the margin, and what it would take otherwise (bench.analysis.power does the arithmetic)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bench.analysis import power
from bench.analysis.power import Noise
from bench.analysis.rows import Row
from bench.analysis.sequential import look_confidence
from bench.metrics import BY_NAME


@dataclass(frozen=True)
class Schedule:
    """How the run will look at its verdicts: once at `seeds` (a fixed run), or at every seed from `first` to
    `seeds` with the sequential correction's wider intervals (`--until-decided`)."""

    seeds: int
    confidence: float
    first: int | None = None

    def level(self, seeds: int) -> float:
        if self.first is None:
            return self.confidence
        return look_confidence(seeds, self.seeds, 1 - self.confidence, min(self.first, seeds))

    def looks(self) -> range:
        return range(self.seeds, self.seeds + 1) if self.first is None else range(self.first, self.seeds + 1)


@dataclass(frozen=True)
class Plan:
    """One strategy's forecast at the margin, from a pilot of `pilot_seeds` seeds."""

    strategy: str
    pilot_seeds: int
    margin: float
    delta: float
    """The pilot's headline difference (higher is better), taken as the true one."""
    noise: Noise
    power: float
    """Chance the schedule's last look decides it."""
    seeds_needed: int | None
    """The first look whose power reaches 80%; None if no look of the schedule does."""
    resolvable: float
    """The smallest |delta + margin| the last look resolves with 80% power."""
    limit_resolvable: float
    """The same with infinitely many seeds: the test set's floor."""
    queries_needed: int | None
    """Test pairs the last look would need for 80% power (None: the seeds, not the pairs, are short)."""
    margins: tuple[float, float]
    """Margins the last look decides with 80% power: at or below the first (inferior), at or above the second."""
    equal_time_delta: float | None = None
    """The pilot's difference from the equal-time control (higher is better); None: no control ran."""
    equal_time_power: float | None = None
    """Chance the last look decides better than training less (better, no better or worse)."""
    equal_time_seeds_needed: int | None = None
    """The first look whose power for that second decision reaches 80%."""

    @property
    def distance(self) -> float:
        return abs(self.delta + self.margin)

    @property
    def query_limited(self) -> bool:
        """No number of seeds decides it with 80% power on this test set."""
        return self.limit_resolvable >= self.distance


def plan_row(row: Row, margin: float, schedule: Schedule) -> Plan | None:
    """The forecast for one leaderboard row; None for the baseline, or a row with too few seeds to split its
    noise (one seed) or no stored noise parts."""
    if row.verdict == "baseline" or row.runs < 2 or row.noise_seed is None or not row.noise_queries:
        return None
    delta = BY_NAME[row.headline_metric].gain(row.headline.delta)
    noise = Noise(row.noise_seed, row.noise_query, row.noise_residual, row.noise_queries)
    last, level = schedule.seeds, schedule.level(schedule.seeds)
    needed = next((s for s in schedule.looks()
                   if power.power(noise, delta, margin, s, schedule.level(s)) >= power.TARGET_POWER), None)
    plan = Plan(row.strategy, row.runs, margin, delta, noise, power.power(noise, delta, margin, last, level), needed,
                power.smallest_resolvable(noise, last, level), power.limit_resolvable(noise, level),
                power.queries_needed(noise, delta, margin, last, level),
                power.supported_margins(noise, delta, last, level))
    if row.equal_time_noise is None or row.equal_time_delta is None:
        return plan
    second = Noise(*row.equal_time_noise[:3], int(row.equal_time_noise[3]))
    chance = {s: power.equal_time_power(second, row.equal_time_delta, margin, s, schedule.level(s))
              for s in schedule.looks()}
    return dataclasses.replace(plan, equal_time_delta=row.equal_time_delta, equal_time_power=chance[last],
                               equal_time_seeds_needed=next((s for s in schedule.looks()
                                                             if chance[s] >= power.TARGET_POWER), None))


def plan_board(rows: list[Row], margin: float, schedule: Schedule) -> list[Plan]:
    """Every row's plan; where the rows span several models or training sizes, each strategy is named with its
    cell (`layer-drop(count=3) @ 2,048 pairs`)."""
    models, sizes = {row.model for row in rows}, {row.train_fraction for row in rows}
    plans = []
    for row in rows:
        plan = plan_row(row, margin, schedule)
        if plan is None:
            continue
        if len(models) > 1 or len(sizes) > 1:
            plan = dataclasses.replace(plan, strategy=plan.strategy + _cell(row, models, sizes))
        plans.append(plan)
    return plans


def _cell(row: Row, models: set[str], sizes: set[float]) -> str:
    parts = ([row.model] if len(models) > 1 else []) + (
        [f"{row.train_pairs:,} pairs" if row.train_pairs else f"data {row.train_fraction:g}"] if len(sizes) > 1 else [])
    return " @ " + ", ".join(parts)
