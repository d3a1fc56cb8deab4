"""The equal-time control (docs/methodology.md, "The equal-time control"): the runs a suite adds for it, the
checks made before anything runs, and each control's step budget, resolved from stored runs just before its cell
is claimed (the steps are measured, so they cannot be known when the suite is planned)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from bench.config import EQUAL_TIME, StrategySpec, SuiteConfig
from bench.errors import BenchError
from bench.registry import COMPOSE, Strategy
from bench.results.identity import Cell
from bench.training import budget
from bench.training.loop import total_steps

if TYPE_CHECKING:
    from bench.results.models import Run
    from bench.results.store import Store
    from bench.tasks.task import Task


class Built(Protocol):
    """A suite entry with its strategy built (bench.suite.cells.BuiltStrategy, which imports this module)."""

    spec: StrategySpec
    strategy: Strategy


CONTROL = EQUAL_TIME
"""The registered name of the control (strategies/equal_time.py): the baseline with a shorter schedule."""
ONE_PROCESS = ("equal-time controls run on one process (each is timed against stored runs): run without --nproc "
               "or torchrun, or pass --no-controls")


def steps_matching(step_seconds: Sequence[float], seconds: float) -> int:
    """How many of the baseline's leading steps take closest to `seconds` (their cumulative per-step seconds; 0 if
    even the first step is further off than none; the fewer steps on a tie)."""
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(step_seconds, dtype=np.float64))])
    return int(np.argmin(np.abs(cumulative - seconds)))


def steps_priced(work: dict | None) -> int | None:
    """How many of the baseline's leading steps cost closest to the matched run, both priced at this machine's
    step prices on the run's real batches (the work ledger's `baseline_real_priced_steps` against its
    `real_priced_seconds`); None for a run without prices. Prices are measured once per machine and setup, so
    this budget does not move with the host's speed while the baseline or the strategy ran."""
    seconds, steps = (work or {}).get("real_priced_seconds"), (work or {}).get("baseline_real_priced_steps")
    if seconds is None or not steps:
        return None
    return steps_matching(steps, seconds)


def steps_paced(work: dict | None, seconds: float, paced: Sequence[float]) -> int | None:
    """How many of the baseline's leading steps take closest to `seconds` (the matched run's measured training
    time) at the pace the host runs now: the baseline's priced step costs on the run's real batches
    (`baseline_real_priced_steps`), scaled by the leading steps just timed (`paced`, bench/training/pace.py),
    their measured total over their priced total (a total, not a median: the control's time is a total too, its
    slow first step included). None for a run without prices."""
    priced = (work or {}).get("baseline_real_priced_steps")
    if not priced or not paced:
        return None
    rate = budget.pace(priced, paced, [])
    return steps_matching([rate * cost for cost in priced], seconds)


def steps_of_share(fraction: float, baseline_steps: int) -> int:
    """A ladder rung's steps: `fraction` of the baseline's, rounded half up."""
    return math.floor(fraction * baseline_steps + 0.5)


def is_control(spec: StrategySpec) -> bool:
    return spec.name == CONTROL


def matched_label(spec: StrategySpec) -> str:
    """The label a control matches ("" for a ladder rung or another strategy)."""
    return str(dict(spec.params).get("matches", "")) if is_control(spec) else ""


def is_baseline(spec: StrategySpec, suite: SuiteConfig) -> bool:
    return spec.name == suite.baseline and not spec.params


def uses_controls(suite: SuiteConfig) -> bool:
    """Whether the suite runs any equal-time run (they are timed against stored runs, so on one process only)."""
    return suite.controls or bool(suite.ladder) or any(is_control(spec) for spec in suite.strategies)


def with_controls(suite: SuiteConfig, entries: Iterable[tuple[StrategySpec, bool]]) -> list[StrategySpec]:
    """The suite's specs (with whether each trains, baseline first) in run order with the controls it asks for:
    each control right after the strategy it matches, the ladder right after the baseline."""
    entries = list(entries)
    wanted = [spec for spec, _ in entries if is_control(spec)]
    if suite.controls:
        wanted += [StrategySpec(CONTROL, (("matches", spec.label),)) for spec, trains in entries
                   if trains and not is_baseline(spec, suite) and not is_control(spec)]
    wanted += [StrategySpec(CONTROL, (("fraction", fraction),)) for fraction in suite.ladder]
    wanted = list(dict.fromkeys(wanted))
    order: list[StrategySpec] = []
    for spec, _ in entries:
        if is_control(spec):
            continue
        order.append(spec)
        order += [c for c in wanted if matched_label(c) == spec.label
                  or (is_baseline(spec, suite) and not matched_label(c))]
    return order + [c for c in wanted if c not in order]  # matching nothing in the suite: check() names them


def check(suite: SuiteConfig, task: Task, strategies: list[Built], data: tuple[float, ...]) -> None:
    """Every equal-time run the suite asks for can run, at each of its `data` fractions: one-line errors before
    anything runs."""
    controls = [b for b in strategies if is_control(b.spec)]
    where = f"suites.{suite.name}"
    for built in strategies:
        if COMPOSE in built.spec.name and any(part.split("(")[0] == CONTROL for part in built.spec.name.split(COMPOSE)):
            raise BenchError(f"{where}: {CONTROL} cannot be composed ({built.spec.label}); list it on its own")
    if not controls:
        return
    if suite.baseline != "baseline":
        raise BenchError(f"{where}: {CONTROL} controls shorten the plain `baseline`, but the suite compares with "
                         f"{suite.baseline!r}; drop controls, ladder and {CONTROL} from it")
    if not any(is_baseline(b.spec, suite) for b in strategies):
        raise BenchError(f"{where}: {CONTROL} runs need the baseline in the suite; add {suite.baseline!r}")
    by_label = {b.spec.label: b for b in strategies}
    for built in controls:
        _check_one(suite, task, built, by_label, data)


def _check_one(suite: SuiteConfig, task: Task, built: Built, by_label: dict[str, Built],
               data: tuple[float, ...]) -> None:
    where = f"suites.{suite.name}"
    label, matches = built.spec.label, matched_label(built.spec)
    if {"steps", "budget"} & set(dict(built.spec.params)):
        raise BenchError(f"{where}: {label}: steps and budget are resolved by the suite; give matches or fraction "
                         "only")
    if matches == suite.baseline or matches.split("(")[0] == CONTROL:
        raise BenchError(f"{where}: {label} matches {matches}, which is the baseline or a control itself; match a "
                         "strategy that changes the model")
    if matches and matches not in by_label:
        raise BenchError(f"{where}: {label} matches no strategy of the suite; its strategies: "
                         f"{', '.join(b.spec.label for b in by_label.values() if not is_control(b.spec))}")
    if matches and not by_label[matches].strategy.trains:
        raise BenchError(f"{where}: {label}: {matches} does not train, so there is no training time to match")
    fraction = getattr(built.strategy, "fraction", 0.0)
    for point in data if fraction else ():
        steps = total_steps(len(task.train_subset(point, suite.train.max_train_pairs)), suite.train)
        if steps_of_share(fraction, steps) < 1:
            raise BenchError(f"{where}: {label} is {fraction} of the baseline's {steps} steps, less than one step; "
                             "raise the fraction or train longer")


def latest(store: Store, cell: Cell) -> Run | None:
    """The newest completed run of `cell`, or None."""
    runs = store.runs(status="completed", suite=cell.suite, config_hash=cell.config_hash,
                      hardware_hash=cell.hardware_hash)
    return runs[-1] if runs else None


def ready(needs: tuple[Cell, ...], states: dict[Cell, set[str]]) -> bool:
    """Whether the runs a control is timed against (`needs`) are completed; else a worker waits, as for a cell
    another process holds."""
    return all("completed" in states.get(needed, ()) for needed in needs)


def resolve(store: Store, built: Built, seed: int, needs: tuple[Cell, ...], baseline_steps: int,
            pace: Callable[[], Sequence[float]] | None = None, warmup_ratio: float = 0.0) -> Built | None:
    """`built` with a control's budget resolved (any other strategy as it is): a rung's share of
    `baseline_steps` (the full baseline's steps on the cell's data), or the time of `needs` (the matched run's
    cell, then the baseline's) on `seed`, planned on the clock as the control trains (bench/training/budget.py)
    from the baseline's step prices on its batches (its stored step times for a run without prices) and, where
    `pace` times the baseline's first steps, the host's pace now. Its `steps` is the count planned before the run
    (`steps_paced`, else `steps_priced`, else the stored times). None while one of those runs is not completed."""
    if not is_control(built.spec):
        return built
    fraction = getattr(built.strategy, "fraction", 0.0)
    time_budget = None
    if fraction:
        steps = steps_of_share(fraction, baseline_steps)
    else:
        matched, baseline = (latest(store, needed) for needed in needs)
        if matched is None or baseline is None:
            return None
        priced = (matched.work or {}).get("baseline_real_priced_steps")
        probe = list(pace()) if pace and priced else []
        steps = steps_paced(matched.work, matched.train_seconds, probe) if probe else steps_priced(matched.work)
        costs = priced
        if steps is None:  # no step prices (an older run): the baseline's own measured step times
            costs = store.step_times([baseline.id]).get(baseline.id)
            if costs is None or not len(costs):
                raise BenchError(f"{built.spec.label}, seed {seed}: the baseline run {baseline.id} has no per-step "
                                 "seconds (stored by an older bench); run the suite with --rerun")
            steps = steps_matching(costs, matched.train_seconds)
        time_budget = budget.TimeBudget(float(matched.train_seconds), tuple(float(c) for c in costs),
                                        tuple(probe), warmup_ratio)
    if steps < 1:
        raise BenchError(f"{built.spec.label}, seed {seed}: its budget is less than one of the baseline's steps; "
                         "train longer, or drop the control (--no-controls)")
    return dataclasses.replace(built, strategy=dataclasses.replace(built.strategy, steps=steps, budget=time_budget))
