"""A suite with the command line's overrides applied (`bench run --seeds 3 --strategy ...`), checked as bench.toml
is: the same one-line errors, before anything runs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from bench.config.load import parse_strategy
from bench.config.schema import EQUAL_TIME, StrategySpec, SuiteConfig
from bench.errors import BenchError


@dataclass(frozen=True)
class Overrides:
    """What `bench run` may change in a suite; None (or empty) leaves the suite's own value."""

    strategies: tuple[str, ...] = ()
    seeds: tuple[int, ...] | None = None
    task: str | None = None
    model: str | None = None
    max_train_pairs: int | None = None
    epochs: float | None = None
    fractions: tuple[float, ...] = ()
    until_decided: bool = False
    max_seeds: int | None = None
    rerun: bool = False
    worker: bool = False
    controls: bool | None = None
    """--controls: add the equal-time controls; --no-controls: no equal-time run at all (controls, ladder, or an
    `equal-time` entry)."""


def apply_overrides(suite: SuiteConfig, overrides: Overrides) -> SuiteConfig:
    """`suite` with `overrides` applied; the baseline is always kept among chosen strategies."""
    o = overrides
    for flag, value in (("--task", o.task), ("--model", o.model)):
        if value is not None and not value.strip():
            raise BenchError(f"{flag} is empty; pass a name or a folder, or leave the flag out")
    train = suite.train
    if o.max_train_pairs:
        train = dataclasses.replace(train, max_train_pairs=o.max_train_pairs)
    if o.epochs:
        train = dataclasses.replace(train, epochs=o.epochs)
    changes: dict = {"train": train}
    if o.strategies:
        changes["strategies"] = chosen_strategies(suite, o.strategies)
    if o.seeds:
        changes["seeds"] = o.seeds
    if o.task:
        changes["task"] = o.task
    if o.model:
        changes["models"] = (o.model,)
    if o.fractions:
        if any(f > 1 for f in o.fractions):
            raise BenchError(f"--fraction values must be in (0, 1], got {' '.join(map(str, o.fractions))}")
        changes["train_fractions"] = tuple(o.fractions)
    if o.controls is not None:
        changes["controls"] = o.controls
    if o.controls is False:
        changes["ladder"] = ()
        changes["strategies"] = tuple(s for s in changes.get("strategies", suite.strategies) if s.name != EQUAL_TIME)
    if o.until_decided:
        changes["until_decided"] = True
    if o.max_seeds:
        if not (o.until_decided or suite.until_decided):
            raise BenchError("--max-seeds only applies with --until-decided (or until_decided = true in the suite)")
        if o.max_seeds < 2:
            raise BenchError(f"--max-seeds must be at least 2, got {o.max_seeds}")
        changes["max_seeds"] = o.max_seeds
    suite = dataclasses.replace(suite, **changes)
    if suite.until_decided and (o.rerun or o.worker):
        raise BenchError("--until-decided does not combine with --rerun or --worker: it resumes by itself, and "
                         "decides which seeds to run from the results so far")
    return suite


def chosen_strategies(suite: SuiteConfig, texts: tuple[str, ...]) -> tuple[StrategySpec, ...]:
    """`--strategy` values: a suite entry's name or label, or a new spec; the plain baseline goes first if absent."""
    chosen: list[StrategySpec] = []
    for text in texts:
        matches = [s for s in suite.strategies if text in (s.name, s.label)]
        for spec in matches or [parse_strategy(text, "--strategy")]:
            if spec not in chosen:
                chosen.append(spec)
    if not any(s.name == suite.baseline and not s.params for s in chosen):
        chosen.insert(0, StrategySpec(suite.baseline))
    return tuple(chosen)
