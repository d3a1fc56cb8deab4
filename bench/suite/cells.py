"""A suite's cells: what it reads up front (checked before anything runs) and every run it asks for, in order."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.analysis.progress import CellKey
from bench.config import Config, StrategySpec, SuiteConfig
from bench.measure.device import describe, resolve_device
from bench.model.pretrained import LoadedModel, load_pretrained
from bench.registry import REGISTRY, Strategy
from bench.results.identity import Cell, Fingerprints, Hardware
from bench.suite import controls
from bench.tasks.task import Task, load_task


@dataclass(frozen=True)
class BuiltStrategy:
    """A suite's strategy entry with its strategy built (so bad parameters fail before the first run)."""

    spec: StrategySpec
    strategy: Strategy


def ordered(strategies: tuple[StrategySpec, ...], baseline: str) -> list[StrategySpec]:
    """Baseline first, so every seed has its reference before the strategies compared with it."""
    return sorted(strategies, key=lambda s: s.name != baseline)


@dataclass(frozen=True)
class PlannedCell:
    """One run a suite asks for (model x data fraction x seed x strategy) and its cell in the store."""

    loaded: LoadedModel
    fraction: float
    seed: int
    built: BuiltStrategy
    cell: Cell
    needs: tuple[Cell, ...] = ()
    """The cells whose completed runs this one is timed against (an equal-time control's matched run and
    baseline): it waits for them."""


def plan(suite: SuiteConfig, task: Task, models: list[LoadedModel], strategies: list[BuiltStrategy],
         hardware: Hardware) -> list[PlannedCell]:
    """Every cell of the suite, in run order: model, data fraction, seed, then strategy with the baseline first
    (an equal-time control right after the strategy it matches, and waiting for it and the baseline)."""
    by_label = {built.spec.label: built.spec for built in strategies}

    def cell_of(loaded: LoadedModel, fraction: float, seed: int, spec: StrategySpec) -> Cell:
        return Fingerprints.of(suite, task, loaded, spec, seed, fraction, hardware).cell

    def needs(loaded: LoadedModel, fraction: float, seed: int, spec: StrategySpec) -> tuple[Cell, ...]:
        matched = controls.matched_label(spec)
        return tuple(cell_of(loaded, fraction, seed, other) for other in (by_label[matched], StrategySpec(
            suite.baseline))) if matched in by_label else ()

    return [PlannedCell(loaded, fraction, seed, built, cell_of(loaded, fraction, seed, built.spec),
                        needs(loaded, fraction, seed, built.spec))
            for loaded in models for fraction in data_fractions(suite, task) for seed in suite.seeds
            for built in strategies]


def data_fractions(suite: SuiteConfig, task: Task) -> tuple[float, ...]:
    """The suite's data points as fractions of the task's training pairs: its `train_sizes` where it lists them."""
    return tuple(task.size_fraction(size) for size in suite.train_sizes) if suite.train_sizes else \
        suite.train_fractions


def cell_names(suite: SuiteConfig, cells: list[PlannedCell]) -> list[CellKey]:
    """The planned cells by name, once per rank count of a suite with `world_sizes` (it runs them all)."""
    return [CellKey(c.loaded.name, round(c.fraction, 9), c.seed, c.built.spec.label, ranks)
            for ranks in suite.world_sizes or (1,) for c in cells]


def cell_keys(config: Config, suite: SuiteConfig) -> list[CellKey]:
    """Every cell the suite asks for, by name (model, data fraction, seed, strategy label, rank count), without
    loading a model: what `bench status` counts stored runs against."""
    built = [(spec, REGISTRY.build(spec.name, spec.params).trains) for spec in ordered(suite.strategies,
                                                                                        suite.baseline)]
    labels = [spec.label for spec in controls.with_controls(suite, built)]
    fractions = data_fractions(suite, load_task(config.task(suite.task), suite.train.dev_eval_pairs)) \
        if suite.train_sizes else suite.train_fractions
    return [CellKey(model, round(fraction, 9), seed, label, ranks) for ranks in suite.world_sizes or (1,)
            for model in suite.models for fraction in fractions for seed in suite.seeds for label in labels]


@dataclass(frozen=True)
class LoadedSuite:
    """Everything a suite reads before its first run: all checked up front, so bad input fails before anything is
    written."""

    device: torch.device
    strategies: list[BuiltStrategy]
    task: Task
    models: list[LoadedModel]
    hardware: Hardware


def load_suite(config: Config, suite: SuiteConfig, device_name: str = "auto") -> LoadedSuite:
    device = resolve_device(device_name)
    built = [BuiltStrategy(spec, REGISTRY.build(spec.name, spec.params))
             for spec in ordered(suite.strategies, suite.baseline)]
    trains = {b.spec: b.strategy.trains for b in built}
    strategies = [BuiltStrategy(spec, REGISTRY.build(spec.name, spec.params))  # with the suite's controls
                  for spec in controls.with_controls(suite, trains.items())]
    task = load_task(config.task(suite.task), suite.train.dev_eval_pairs)
    fractions = data_fractions(suite, task)  # a train size the task cannot hold fails here, before anything runs
    controls.check(suite, task, strategies, fractions)
    models = [load_pretrained(name) for name in suite.models]
    return LoadedSuite(device, strategies, task, models, Hardware(**describe(device)))
