"""What bench.toml can say, as frozen dataclasses with their allowed ranges (read by bench/config/load.py)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.metrics import METRICS
from bench.validate import did_you_mean

__all__ = ["BUILTIN_TASKS", "DEFAULT_CONFIG", "DEVICE", "EQUAL_TIME", "MAX_SEED", "PRECISIONS", "FOLDER_KINDS",
           "CheckConfig", "CheckThresholds", "Config", "EnergyConfig", "StatsConfig", "StrategySpec", "SuiteConfig",
           "TaskConfig", "TrainConfig", "WorkersConfig", "check_ranges"]

DEFAULT_CONFIG = "bench.toml"
PRECISIONS = ("fp32", "bf16")
FOLDER_KINDS = ("jsonl", "sgd")
"""The built-in task kinds that read a folder, so their `path` may not be empty. Which kinds exist is not known
here: plugins register more, and bench.tasks.task.TASKS checks `kind` once they are loaded."""
DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")
MAX_SEED = 2**31 - 1  # seeds are stored as 32-bit integers (PostgreSQL's INTEGER)
EQUAL_TIME = "equal-time"  # the control strategy a suite's `controls` and `ladder` add (strategies/equal_time.py)


@dataclass(frozen=True)
class TrainConfig:
    """How a bi-encoder is fine-tuned; every field is part of the settings fingerprint."""

    batch_size: int = 32  # pairs a step; each pair's reply is a negative for the others
    epochs: float = 1.0  # passes over the training pairs (fractions allowed)
    learning_rate: float = 1e-4  # AdamW's peak learning rate, after linear warm-up, then linear decay
    weight_decay: float = 0.01  # AdamW weight decay (not on biases and LayerNorm)
    warmup_ratio: float = 0.1  # share of the steps spent warming the learning rate up
    max_message_length: int = 64  # tokens a message is truncated to
    max_reply_length: int = 32  # tokens a reply is truncated to
    scale: float = 20.0  # cosine similarities are multiplied by this before the softmax
    symmetric_loss: bool = True  # also the reply-to-message direction of the in-batch loss
    shared_towers: bool = True  # one encoder for messages and replies; false: two copies
    dropout: bool = True  # false sets every dropout probability to 0
    max_train_pairs: int = 0  # train on at most this many pairs (0: all)
    train_fraction: float = 1.0  # train on this share of the training pairs
    eval_batch_size: int = 256  # texts a batch at evaluation
    curve_points: int = 8  # dev evaluations during training, outside the timed region
    dev_eval_pairs: int = 300  # the fixed dev subset the curve and time-to-target use
    precision: str = "fp32"  # fp32, or bf16 autocast
    unpad: bool = True  # layers run on real tokens only (bench/model/packed.py); false: padded batches, as HF does
    fused_optimizer: bool = True  # torch's fused AdamW kernel; false: the for-each implementation
    length_buckets: int = 1  # unpad = false: each step's texts as N length-sorted sub-batches (less padding); 1: off
    max_steps: int = 0  # stop after this many steps, warm-up and decay fitted to them (0: as epochs say)

    def __post_init__(self) -> None:
        check_ranges(type(self), _values(self), "train")



@dataclass(frozen=True)
class StatsConfig:
    """How comparisons are made: intervals, bootstrap and the non-inferiority margin."""

    confidence: float = 0.95  # level of every interval
    bootstrap_samples: int = 2000  # resamples of the bootstrap intervals of metric means
    bootstrap_seed: int = 0  # seed of the bootstrap, so a report is reproducible
    margin: float = 0.01  # non-inferiority margin on the headline metric (absolute)
    target_fraction: float = 0.99  # time-to-target: this share of the baseline's final dev headline

    def __post_init__(self) -> None:
        check_ranges(type(self), _values(self), "stats")


@dataclass(frozen=True)
class TaskConfig:
    """A named task: the built-in `email`, the real-data `sgd`, or a folder of jsonl files."""

    name: str
    kind: str = "jsonl"  # email (built-in), sgd, jsonl (a folder of train/dev/test .jsonl), or a plugin's
    path: str = ""  # the folder holding the task's files
    whitelist_size: int = 0  # keep the K most frequent training replies (0: all distinct replies)
    headline_metric: str = ""  # the metric verdicts are about (empty: the task's own)
    dev_fraction: float = 0.05  # share of training dialogues held out for the dev curve (no dev file)

    def __post_init__(self) -> None:
        check_ranges(type(self), _values(self), f"tasks.{self.name}")


@dataclass(frozen=True)
class StrategySpec:
    """One strategy variant in a suite: a registered name plus its parameters."""

    name: str
    params: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        if not self.params:
            return self.name
        return self.name + "(" + ", ".join(f"{k}={v}" for k, v in self.params) + ")"


@dataclass(frozen=True)
class SuiteConfig:
    """A set of runs compared together: strategies x models x data fractions x seeds on one task."""

    name: str
    task: str = "email"  # a [tasks.NAME] or built-in task, or a folder
    models: tuple[str, ...] = ("all-MiniLM-L6-v2",)  # built-in names, local folders or hub ids
    strategies: tuple[StrategySpec, ...] = (StrategySpec("zero-shot"), StrategySpec("baseline"))
    """Names, `NAME:key=value` strings, or inline tables `{ name = "layer-drop", count = 3 }`."""
    seeds: tuple[int, ...] = (0, 1, 2)  # paired seeds: each fixes data order, initialisation and dropout
    train_fractions: tuple[float, ...] = (1.0,)  # shares of the training pairs, each against its own baseline
    train_sizes: tuple[int, ...] = ()
    """Training-set sizes in pairs (a data-size ablation), instead of fractions: each is one data point with its
    own baseline; smaller subsets are contained in larger ones."""
    baseline: str = "baseline"  # the strategy every other is compared with
    train: TrainConfig = field(default_factory=TrainConfig)
    check: CheckConfig | None = None
    until_decided: bool = False
    """Add seeds in rounds until each strategy's headline verdict is decided (bench.suite.rounds)."""
    max_seeds: int = 10
    """With until_decided: the most seeds a strategy gets; also the last look of the sequential correction."""
    world_sizes: tuple[int, ...] = ()
    """Rank counts to train every run on, one after another (e.g. (1, 2)); the report adds scaling efficiency.
    Empty: one process, or what --nproc / torchrun says."""
    controls: bool = False
    """After each strategy that trains (but the baseline), its equal-time control: the baseline cut to the steps that
    take as long as that strategy took on the same seed (docs/methodology.md, "The equal-time control")."""
    ladder: tuple[float, ...] = ()
    """Shares of the baseline's steps, each in (0, 1]: an equal-time run of the baseline cut to each (e.g. [0.5])."""

    def __post_init__(self) -> None:
        where = f"suites.{self.name}"
        if not 2 <= self.max_seeds <= 100:
            raise BenchError(f"{where}.max_seeds must be from 2 to 100, got {self.max_seeds}; fix it in bench.toml")
        if any(not 1 <= n <= 1024 for n in self.world_sizes):
            raise BenchError(f"{where}.world_sizes must be rank counts from 1 to 1024, got {list(self.world_sizes)}; "
                             "fix it in bench.toml")
        if self.until_decided and len(self.seeds) >= self.max_seeds:
            raise BenchError(f"{where}: until_decided needs fewer starting seeds ({len(self.seeds)}) than max_seeds "
                             f"({self.max_seeds}); raise max_seeds (--max-seeds) or start with fewer seeds")
        for key in ("models", "strategies", "seeds", "train_fractions"):
            if not getattr(self, key):
                raise BenchError(f"{where}.{key} is empty; list at least one")
        if not all(model.strip() for model in self.models):
            raise BenchError(f"{where}.models has an empty name; name a model (e.g. all-MiniLM-L6-v2) or a "
                             "model folder; fix it in bench.toml")
        for seed in self.seeds:
            if not 0 <= seed <= MAX_SEED:
                raise BenchError(f"{where}.seeds must be whole numbers from 0 to {MAX_SEED}, got {seed}; "
                                 "fix it in bench.toml")
        if self.train_sizes and self.train_fractions != (1.0,):
            raise BenchError(f"{where} lists both train_sizes and train_fractions; keep one of them")
        if any(size < 1 for size in self.train_sizes) or len(set(self.train_sizes)) < len(self.train_sizes):
            raise BenchError(f"{where}.train_sizes must be distinct pair counts of 1 or more, got "
                             f"{list(self.train_sizes)}; fix it in bench.toml")
        if self.train_sizes and self.train.max_train_pairs and max(self.train_sizes) > self.train.max_train_pairs:
            raise BenchError(f"{where}: train_sizes go up to {max(self.train_sizes)} pairs but train.max_train_pairs "
                             f"caps training at {self.train.max_train_pairs}; drop max_train_pairs from the suite")
        for fraction in self.train_fractions:
            if not (math.isfinite(fraction) and 0 < fraction <= 1):
                raise BenchError(f"{where}.train_fractions must lie in (0, 1], got {fraction}; fix it in bench.toml")
        if any(not (math.isfinite(f) and 0 < f <= 1) for f in self.ladder) or len(set(self.ladder)) < len(self.ladder):
            raise BenchError(f"{where}.ladder must be distinct shares of the baseline's steps in (0, 1], got "
                             f"{list(self.ladder)}; fix it in bench.toml")


@dataclass(frozen=True)
class CheckThresholds:
    """Regression gate limits; None means the check is off."""

    min_time_reduction: float | None = None  # fail below this time reduction vs the baseline
    min_energy_reduction: float | None = None  # fail below this energy reduction vs the baseline (same source)
    max_relevance_loss: float | None = None  # fail unless non-inferior at this margin (one seed: the point loss)
    max_slowdown: float | None = None  # with --against: fail if throughput fell by more than this share
    max_metric_drop: float | None = None  # with --against: fail if any metric fell by more than this
    # fail unless the strategy is `better than training less` (vs its equal-time control); no control fails too
    require_better_than_training_less: bool | None = None


@dataclass(frozen=True)
class CheckConfig:
    defaults: CheckThresholds = field(default_factory=CheckThresholds)
    strategies: tuple[tuple[str, CheckThresholds], ...] = ()



@dataclass(frozen=True)
class WorkersConfig:
    """How runs show they are alive, and when a silent one counts as abandoned (its cell is then run again)."""

    heartbeat_seconds: float = 15.0  # a running run refreshes its heartbeat this often (off the training thread)
    stale_after_seconds: float = 120.0  # a running run silent this long is abandoned, wherever it ran
    poll_seconds: float = 5.0  # `bench run --worker` looks for cells to take over this often

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.stale_after_seconds)

    def __post_init__(self) -> None:
        for name in ("heartbeat_seconds", "stale_after_seconds", "poll_seconds"):
            if not getattr(self, name) > 0:
                raise BenchError(f"workers.{name} must be > 0, got {getattr(self, name)}; fix it in bench.toml")
        if self.stale_after_seconds <= 2 * self.heartbeat_seconds:
            raise BenchError(f"workers.stale_after_seconds ({self.stale_after_seconds:g}) must be more than twice "
                             f"heartbeat_seconds ({self.heartbeat_seconds:g}), or live runs look abandoned; fix "
                             "it in bench.toml")


@dataclass(frozen=True)
class EnergyConfig:
    """The power model behind an `estimated` energy (bench/measure/energy.py), used where no counter is readable;
    not part of any fingerprint: it changes no run, only how its CPU time is priced."""

    watts_per_core: float = 10.0  # watts a busy CPU core draws, in the CPU-time energy estimate


@dataclass(frozen=True)
class Config:
    """The whole of bench.toml."""

    db: str = "sqlite:///results.db"  # SQLAlchemy URL of the results database
    device: str = "auto"  # auto, cpu, cuda or cuda:N
    default_suite: str = "default"  # the suite a command runs without --suite
    train: TrainConfig = field(default_factory=TrainConfig)
    stats: StatsConfig = field(default_factory=StatsConfig)
    tasks: tuple[TaskConfig, ...] = ()
    suites: tuple[SuiteConfig, ...] = ()
    check: CheckConfig = field(default_factory=CheckConfig)
    plugins: tuple[str, ...] = ()  # modules that register more strategies, task kinds or models
    workers: WorkersConfig = field(default_factory=WorkersConfig)
    energy: EnergyConfig = field(default_factory=EnergyConfig)
    source: str = "<defaults>"

    def suite(self, name: str | None) -> SuiteConfig:
        name = name or self.default_suite
        for suite in self.suites:
            if suite.name == name:
                return suite
        raise BenchError(f"unknown suite {name!r}{did_you_mean(name, [s.name for s in self.suites])}; "
                         f"suites are defined as [suites.NAME] in {self.source}")

    def task(self, name: str) -> TaskConfig:
        for task in self.tasks:
            if task.name == name:
                return task
        if Path(name).is_dir():
            return TaskConfig(name=Path(name).name, kind="jsonl", path=name)
        known = [t.name for t in self.tasks]
        raise BenchError(f"unknown task {name!r}{did_you_mean(name, known)}; known tasks: {', '.join(known)} "
                         "(or pass a folder holding train.jsonl and test.jsonl)")


Rule = tuple[Callable[[Any], bool], str]
RANGES: dict[str, dict[str, Rule]] = {
    "EnergyConfig": {"watts_per_core": (lambda v: 0 < v <= 1000, "in (0, 1000] (watts per busy CPU core)")},
    "TrainConfig": {
        "batch_size": (lambda v: v >= 2, "at least 2 (in-batch negatives)"),
        "length_buckets": (lambda v: v >= 1, "at least 1 (1: off)"),
        "max_steps": (lambda v: v >= 0, ">= 0 (0 = as epochs say)"),
        "epochs": (lambda v: v > 0, "> 0"),
        "learning_rate": (lambda v: v > 0, "> 0"),
        "weight_decay": (lambda v: v >= 0, ">= 0"),
        "warmup_ratio": (lambda v: 0 <= v < 1, "in [0, 1) (a share of the training steps)"),
        "max_message_length": (lambda v: v >= 1, "at least 1 (tokens)"),
        "max_reply_length": (lambda v: v >= 1, "at least 1 (tokens)"),
        "scale": (lambda v: v > 0, "> 0 (the similarity scale of the loss)"),
        "max_train_pairs": (lambda v: v >= 0, ">= 0 (0 = all pairs)"),
        "train_fraction": (lambda v: 0 < v <= 1, "in (0, 1]"),
        "eval_batch_size": (lambda v: v >= 1, "at least 1"),
        "curve_points": (lambda v: v >= 1, "at least 1 (dev evaluations during training)"),
        "dev_eval_pairs": (lambda v: v >= 0, ">= 0 (0 = the whole dev split)"),
        "precision": (lambda v: v in PRECISIONS, f"one of {', '.join(PRECISIONS)}"),
    },
    "StatsConfig": {
        "confidence": (lambda v: 0 < v < 1, "in (0, 1), e.g. 0.95"),
        "bootstrap_samples": (lambda v: v >= 1, "at least 1"),
        "bootstrap_seed": (lambda v: v >= 0, ">= 0"),
        "margin": (lambda v: v >= 0, ">= 0 (absolute metric units)"),
        "target_fraction": (lambda v: 0 < v <= 1, "in (0, 1] (a share of the baseline's final dev headline)"),
    },
    "TaskConfig": {
        "whitelist_size": (lambda v: v >= 0, ">= 0 (0 = every distinct train reply)"),
        "headline_metric": (lambda v: v in ("", *METRICS), f"one of {', '.join(METRICS)}"),
        "dev_fraction": (lambda v: 0 < v < 1, "in (0, 1) (the share of train held out for the dev curve)"),
    },
}


def check_ranges(cls: type, values: dict[str, Any], where: str) -> None:
    """Every float in `values` finite and every value with a rule in RANGES within it; else a BenchError naming
    `where`.key, the value and the allowed range."""
    rules = RANGES.get(cls.__name__, {})
    for key, value in values.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise BenchError(f"{where}.{key} must be a finite number, got {value}; fix it in bench.toml")
        if key in rules and not rules[key][0](value):
            raise BenchError(f"{where}.{key} must be {rules[key][1]}, got {value!r}; fix it in bench.toml")


def _values(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}


BUILTIN_TASKS = (
    TaskConfig(name="email", kind="email", headline_metric="intent_recall_at_3"),
    TaskConfig(name="sgd", kind="sgd", path="../shared/data/sgd", whitelist_size=300,
               headline_metric="intent_recall_at_3"),
)
