"""A suite's cells: what it reads up front (checked before anything runs) and every run it asks for, in order."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.config import Config, StrategySpec, SuiteConfig
from bench.measure.device import describe, resolve_device
from bench.model.pretrained import LoadedModel, load_pretrained
from bench.registry import REGISTRY, Strategy
from bench.results.identity import Cell, Fingerprints, Hardware
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


def plan(suite: SuiteConfig, task: Task, models: list[LoadedModel], strategies: list[BuiltStrategy],
         hardware: Hardware) -> list[PlannedCell]:
    """Every cell of the suite, in run order: model, data fraction, seed, then strategy with the baseline first."""
    return [PlannedCell(loaded, fraction, seed, built,
                        Fingerprints.of(suite, task, loaded, built.spec, seed, fraction, hardware).cell)
            for loaded in models for fraction in data_fractions(suite, task) for seed in suite.seeds
            for built in strategies]


def data_fractions(suite: SuiteConfig, task: Task) -> tuple[float, ...]:
    """The suite's data points as fractions of the task's training pairs: its `train_sizes` where it lists them."""
    return tuple(task.size_fraction(size) for size in suite.train_sizes) if suite.train_sizes else \
        suite.train_fractions


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
    strategies = [BuiltStrategy(spec, REGISTRY.build(spec.name, spec.params))
                  for spec in ordered(suite.strategies, suite.baseline)]
    task = load_task(config.task(suite.task), suite.train.dev_eval_pairs)
    data_fractions(suite, task)  # a train size the task cannot hold fails here, before anything runs
    models = [load_pretrained(name) for name in suite.models]
    return LoadedSuite(device, strategies, task, models, Hardware(**describe(device)))
