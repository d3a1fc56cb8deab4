"""A schedule that runs on the clock: an equal-time control trains until the time it matches is spent
(docs/methodology.md, "The equal-time control").

A step count fixed before the run cannot match a time within 5% on a host whose speed drifts 10-15% from one
ten-second window to the next, and on short controls one step is itself 8-16% of the time. So before each step
the control plans again: how many of the baseline's remaining steps fit in the time left, at the pace of the last
`PACE_STEPS` steps timed; the warm-up and linear decay are the baseline's, over that planned count; the last step
trains only as many of its batch's pairs as fill the time left. This is the time-based schedule of the
budget-matched baselines of Izsak et al. (2021), Geiping & Goldstein (2022) and Kaddour et al. (2023), in the
baseline's own step schedule: on a host of steady speed it plans the same count before every step, and the rates
are exactly the step schedule's for that count.

Pure functions of the recorded step times, so a stored control's plan can be replayed from its per-step seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PACE_STEPS = 10
"""How many of the latest timed steps set the pace (the probe's first, then the control's own): their total over
their priced total. On this project's 2-core host (2026-12-06, 51 stored controls), 10 steps predicted a control's
pace closer than 5 (mean |log| 0.037 against 0.043 at 2,048-8,192 pairs; 0.018 against 0.031 on sgd)."""

MIN_PAIRS = 2
"""The fewest pairs a cut last step trains: in-batch negatives need another pair; a smaller remainder is left."""


@dataclass(frozen=True)
class Plan:
    """Before a step: the steps planned in all (this one included, those done counted) and this step's pairs
    (the whole batch, fewer on a cut last step, 0: the time is spent, stop before it)."""

    total: int
    pairs: int


@dataclass(frozen=True)
class TimeBudget:
    """What an equal-time control trains to: `seconds` (the matched run's measured training time), the baseline's
    steps priced `costs` on the control's batches (seconds at some pace; its stored step times where no prices),
    the `probe`'s seconds (its first steps timed just before, bench/training/pace.py) and the baseline's
    `warmup_ratio`."""

    seconds: float
    costs: tuple[float, ...]
    probe: tuple[float, ...] = ()
    warmup_ratio: float = 0.0

    def plan(self, own: Sequence[float], batch_size: int) -> Plan:
        return plan(self.seconds, self.costs, self.probe, own, batch_size)

    def replay(self, step_seconds: Sequence[float], batch_size: int) -> list[Plan]:
        """The plans made before each step of a run that took `step_seconds`, and the one that stopped it."""
        return [self.plan(step_seconds[:done], batch_size) for done in range(len(step_seconds) + 1)]


def pace(costs: Sequence[float], probe: Sequence[float], own: Sequence[float], window: int = PACE_STEPS) -> float:
    """Seconds per priced second now: the latest `window` timed steps (the probe's, run on the baseline's first
    batches just before, then this run's own), their measured total over their priced total; 1 with none
    (`costs` are then seconds already)."""
    timed = list(zip(probe, costs, strict=False)) + list(zip(own, costs, strict=False))
    timed = timed[-window:] if window else []
    priced = sum(cost for _, cost in timed)
    return sum(seconds for seconds, _ in timed) / priced if timed and priced > 0 else 1.0


def plan(budget: float, costs: Sequence[float], probe: Sequence[float], own: Sequence[float],
         batch_size: int) -> Plan:
    """The plan before step `len(own)`: `budget` seconds in all, the baseline's steps priced `costs` (its whole
    schedule: no plan goes past it), `own` the seconds of the steps done. Full steps while each fits in the time
    left at the current pace; then one cut step of the pairs that fill the rest, if at least `MIN_PAIRS`."""
    step = len(own)
    rate = pace(costs, probe, own)
    left = budget - sum(own)
    full, used = 0, 0.0
    for cost in costs[step:]:
        if used + rate * cost > left:
            break
        full, used = full + 1, used + rate * cost
    cut = 0
    if step + full < len(costs):
        cut = round(batch_size * (left - used) / (rate * costs[step + full]))
        cut = cut if cut >= MIN_PAIRS else 0
    total = step + full + (1 if cut else 0)
    return Plan(total, batch_size if full else cut)


def rate_multiplier(step: int, total: int, warmup: int) -> float:
    """The baseline's schedule at `step` of `total`: linear warm-up over `warmup` steps, then linear decay that
    reaches 0 after the last step (bench.training.loop.make_optimizer)."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def warmup_steps(warmup_ratio: float, total: int) -> int:
    """The baseline's warm-up length for a schedule of `total` steps."""
    return max(1, int(warmup_ratio * total))
