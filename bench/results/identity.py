"""A run's identity: what ran, on which data, model, settings, hardware and code, and the fingerprints
that decide which runs may be compared.

The fingerprints are short hashes of exactly the values they always hashed, so runs stored by an older
bench still compare with new ones.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from bench.config import StrategySpec, SuiteConfig
    from bench.model.encoder import BiEncoder
    from bench.model.pretrained import LoadedModel
    from bench.tasks.task import Task


@dataclass(frozen=True)
class Hardware:
    """What ran a job: its fingerprint decides which runs are compared (bench.measure.device.describe fills it)."""

    device_type: str
    device_name: str
    device_count: int
    cpu_model: str
    gpu_model: str


def stable_hash(value: object) -> str:
    """16 hex digits of SHA-256 over canonical JSON: the same value hashes the same in every process."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Cell(NamedTuple):
    """One cell of a suite (model x data fraction x seed x strategy, under fixed settings) on one kind of hardware:
    a completed run of it is a result, and at most one run of it may be live at a time."""

    suite: str
    config_hash: str
    hardware_hash: str


@dataclass(frozen=True)
class Fingerprints:
    """The hashes that decide what a run is, computable before its model is built (to skip cells already done)."""

    settings: dict[str, Any]
    settings_hash: str
    cell: Cell

    @classmethod
    def of(cls, suite: SuiteConfig, task: Task, loaded: LoadedModel, spec: StrategySpec, seed: int,
           fraction: float, hardware: Hardware) -> Fingerprints:
        train = {key: value for key, value in dataclasses.asdict(suite.train).items()
                 if LATER_DEFAULTS.get(key, object()) != value}
        settings = {"train": train, "task": task.name, "task_hash": task.data_hash,
                    "model": loaded.name, "model_hash": loaded.weights_hash, "train_fraction": fraction,
                    "headline_metric": task.headline_metric}
        config_hash = stable_hash({**settings, "strategy": spec.name, "params": dict(spec.params), "seed": seed})
        return cls(settings, stable_hash(settings),
                   Cell(suite.name, config_hash, hardware_hash(hardware)))


LATER_DEFAULTS = {"length_buckets": 1, "max_steps": 0}
"""Training settings added after results were stored: at these defaults they are left out of the fingerprint, so
runs stored before them still compare with (and resume into) runs made since."""


def hardware_hash(hardware: Hardware) -> str:
    """The hardware fingerprint: runs are compared only with a baseline on the same hardware."""
    return stable_hash(dataclasses.asdict(hardware))


@dataclass(frozen=True)
class RunIdentity:
    """Every identity column of a stored run, written once when the run starts."""

    suite: str
    strategy: str
    label: str
    params: dict[str, Any]
    task: str
    task_version: str
    task_hash: str
    model: str
    model_hash: str
    seed: int
    train_fraction: float
    settings_hash: str
    """Runs with equal settings hashes differ only in strategy and seed, so they may be compared."""
    config_hash: str
    """Settings plus strategy and seed: equal config hashes are repeats of the same run."""
    settings: dict[str, Any]
    device_type: str
    device_name: str
    device_count: int
    hardware_hash: str
    environment: dict[str, Any]
    git_commit: str
    git_dirty: bool
    headline_metric: str
    total_params: int
    trainable_params: int
    layers: int

    @classmethod
    def of(cls, *, suite: SuiteConfig, task: Task, loaded: LoadedModel, spec: StrategySpec, seed: int,
           fraction: float, hardware: Hardware, environment: dict[str, Any], model: BiEncoder) -> RunIdentity:
        """The identity of one run of `suite`, with `model` already changed by the strategy (its sizes count)."""
        prints = Fingerprints.of(suite, task, loaded, spec, seed, fraction, hardware)
        total, trainable = model.count_parameters()
        return cls(
            suite=suite.name, strategy=spec.name, label=spec.label, params=dict(spec.params), task=task.name,
            task_version=task.version, task_hash=task.data_hash, model=loaded.name, model_hash=loaded.weights_hash,
            seed=seed, train_fraction=fraction, settings_hash=prints.settings_hash, config_hash=prints.cell.config_hash,
            settings=prints.settings, device_type=hardware.device_type, device_name=hardware.device_name,
            device_count=hardware.device_count, hardware_hash=prints.cell.hardware_hash,
            environment={**environment, **dataclasses.asdict(hardware)}, git_commit=str(environment["git_commit"]),
            git_dirty=bool(environment["git_dirty"]), headline_metric=task.headline_metric, total_params=total,
            trainable_params=trainable, layers=model.num_layers)

    @property
    def cell(self) -> Cell:
        return Cell(self.suite, self.config_hash, self.hardware_hash)

    def columns(self) -> dict[str, Any]:
        """Column name -> value, for the `Run` row (shallow: the row takes these very dicts)."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
