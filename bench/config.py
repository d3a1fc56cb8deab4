"""bench.toml, loaded in one place into frozen dataclasses; unknown keys are errors."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from bench.errors import BenchError
from bench.validate import coerce, did_you_mean

DEFAULT_CONFIG = "bench.toml"
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class TrainConfig:
    """How a bi-encoder is fine-tuned; every field is part of the settings fingerprint."""

    batch_size: int = 32
    epochs: float = 1.0
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_message_length: int = 64
    max_reply_length: int = 32
    scale: float = 20.0
    symmetric_loss: bool = True
    shared_towers: bool = True
    dropout: bool = True
    max_train_pairs: int = 0
    train_fraction: float = 1.0
    eval_batch_size: int = 256
    curve_points: int = 8
    dev_eval_pairs: int = 300
    precision: str = "fp32"
    unpad: bool = True  # layers run on real tokens only (bench/model/packed.py); false: padded batches, as HF does
    fused_optimizer: bool = True  # torch's fused AdamW kernel; false: the for-each implementation

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise BenchError(f"train.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}; "
                             "fix it in bench.toml")
        if self.batch_size < 2:
            raise BenchError(f"train.batch_size must be at least 2 (in-batch negatives), got {self.batch_size}; "
                             "fix it in bench.toml")



@dataclass(frozen=True)
class StatsConfig:
    """How comparisons are made: intervals, bootstrap and the non-inferiority margin."""

    confidence: float = 0.95
    bootstrap_samples: int = 2000
    bootstrap_seed: int = 0
    margin: float = 0.01
    target_fraction: float = 0.99


@dataclass(frozen=True)
class TaskConfig:
    """A named task: the built-in `email`, the real-data `sgd`, or a folder of jsonl files."""

    name: str
    kind: str = "jsonl"
    path: str = ""
    whitelist_size: int = 0
    headline_metric: str = ""
    dev_fraction: float = 0.05


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
    task: str = "email"
    models: tuple[str, ...] = ("all-MiniLM-L6-v2",)
    strategies: tuple[StrategySpec, ...] = (StrategySpec("zero-shot"), StrategySpec("baseline"))
    seeds: tuple[int, ...] = (0, 1, 2)
    train_fractions: tuple[float, ...] = (1.0,)
    baseline: str = "baseline"
    train: TrainConfig = field(default_factory=TrainConfig)
    check: CheckConfig | None = None


@dataclass(frozen=True)
class CheckThresholds:
    """Regression gate limits; None means the check is off."""

    min_time_reduction: float | None = None
    max_relevance_loss: float | None = None
    max_slowdown: float | None = None
    max_metric_drop: float | None = None


@dataclass(frozen=True)
class CheckConfig:
    defaults: CheckThresholds = field(default_factory=CheckThresholds)
    strategies: tuple[tuple[str, CheckThresholds], ...] = ()



@dataclass(frozen=True)
class Config:
    """The whole of bench.toml."""

    db: str = "sqlite:///results.db"
    device: str = "auto"
    default_suite: str = "default"
    train: TrainConfig = field(default_factory=TrainConfig)
    stats: StatsConfig = field(default_factory=StatsConfig)
    tasks: tuple[TaskConfig, ...] = ()
    suites: tuple[SuiteConfig, ...] = ()
    check: CheckConfig = field(default_factory=CheckConfig)
    plugins: tuple[str, ...] = ()
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


BUILTIN_TASKS = (
    TaskConfig(name="email", kind="email", headline_metric="intent_recall_at_3"),
    TaskConfig(name="sgd", kind="sgd", path="../shared/data/sgd", whitelist_size=300,
               headline_metric="intent_recall_at_3"),
)


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Build a flat dataclass from a TOML table, rejecting unknown keys and wrong types."""
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise BenchError(f"unknown key {key!r} in {where}{did_you_mean(key, names)}; "
                             f"allowed keys: {', '.join(names)}")
        values[key] = _coerce(value, hints[key], f"{where}.{key}")
    return cls(**values)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    return coerce(value, hint, where, "; fix it in bench.toml")


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise BenchError(f"{where}.{key} must be a table; fix it in bench.toml")
    return value


def parse_strategy(item: Any, where: str) -> StrategySpec:
    """A strategy is "name", "name:key=value,key=value" or an inline table {name = ..., key = value}."""
    if isinstance(item, str):
        name, _, rest = item.partition(":")
        params: dict[str, Any] = {}
        for part in filter(None, rest.split(",")):
            key, eq, raw = part.partition("=")
            if not eq:
                raise BenchError(f"bad strategy parameter {part!r} in {where}; write NAME:key=value,key=value")
            params[key.strip()] = _parse_scalar(raw.strip())
        return StrategySpec(name.strip(), tuple(sorted(params.items())))
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        params = {k: v for k, v in item.items() if k != "name"}
        return StrategySpec(item["name"], tuple(sorted(params.items())))
    raise BenchError(f"{where}: a strategy must be a name or a table with a `name` key, got {item!r}")


def _parse_scalar(raw: str) -> Any:
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(raw.lower(), raw)


def _check(data: dict[str, Any], where: str) -> CheckConfig:
    threshold_keys = {f.name for f in fields(CheckThresholds)}
    flat = {k: v for k, v in data.items() if k in threshold_keys}
    per_strategy = []
    for key, value in data.items():
        if key in threshold_keys:
            continue
        if key != "strategies" or not isinstance(value, dict):
            raise BenchError(f"unknown key {key!r} in {where}; allowed keys: "
                             f"{', '.join(sorted(threshold_keys))}, strategies")
        for label, table in value.items():
            per_strategy.append((label, _build(CheckThresholds, table, f"{where}.strategies.{label}")))
    return CheckConfig(_build(CheckThresholds, flat, where), tuple(per_strategy))


def _suite(name: str, data: dict[str, Any], base_train: TrainConfig, where: str) -> SuiteConfig:
    allowed = [f.name for f in fields(SuiteConfig) if f.name != "name"]
    for key in data:
        if key not in allowed:
            raise BenchError(f"unknown key {key!r} in {where}{did_you_mean(key, allowed)}; "
                             f"allowed keys: {', '.join(allowed)}")
    train_over = _build(TrainConfig, _table(data, "train", where), f"{where}.train")
    overridden = {k: getattr(train_over, k) for k in _table(data, "train", where)}
    values: dict[str, Any] = {"name": name, "train": replace(base_train, **overridden)}
    if "task" in data:
        values["task"] = _coerce(data["task"], str, f"{where}.task")
    if "baseline" in data:
        values["baseline"] = _coerce(data["baseline"], str, f"{where}.baseline")
    for key, kind in (("models", str), ("seeds", int), ("train_fractions", float)):
        if key in data:
            items = data[key] if isinstance(data[key], list) else [data[key]]
            values[key] = tuple(_coerce(v, kind, f"{where}.{key}") for v in items)
            if not values[key]:
                raise BenchError(f"{where}.{key} is empty; list at least one")
    if "strategies" in data:
        if not isinstance(data["strategies"], list) or not data["strategies"]:
            raise BenchError(f"{where}.strategies must be a non-empty list")
        values["strategies"] = tuple(parse_strategy(s, f"{where}.strategies") for s in data["strategies"])
    if "check" in data:
        values["check"] = _check(_table(data, "check", where), f"{where}.check")
    return SuiteConfig(**values)


TOP_KEYS = ("db", "device", "default_suite", "plugins", "train", "stats", "tasks", "suites", "check")


def load_config(path: str | Path | None = None) -> Config:
    """Load bench.toml (or `path`); without a file the built-in defaults apply."""
    explicit = path is not None
    path = Path(path or DEFAULT_CONFIG)
    if not path.exists():
        if explicit:
            raise BenchError(f"config file {path} not found; pass an existing file to --config")
        return Config(tasks=BUILTIN_TASKS, suites=(SuiteConfig(name="default"),))
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise BenchError(f"{path}: invalid TOML ({exc}); fix the syntax") from None
    return config_from_dict(data, str(path))


def config_from_dict(data: dict[str, Any], source: str = "bench.toml") -> Config:
    for key in data:
        if key not in TOP_KEYS:
            raise BenchError(f"unknown key {key!r} in {source}{did_you_mean(key, list(TOP_KEYS))}; "
                             f"allowed top-level keys: {', '.join(TOP_KEYS)}")
    train = _build(TrainConfig, _table(data, "train", source), "train")
    tasks = {t.name: t for t in BUILTIN_TASKS}
    for name, table in _table(data, "tasks", source).items():
        base = dataclasses.asdict(tasks.get(name, TaskConfig(name=name)))
        base.update(table if isinstance(table, dict) else {})
        tasks[name] = _build(TaskConfig, base, f"tasks.{name}")
    suites = tuple(_suite(name, table, train, f"suites.{name}")
                   for name, table in _table(data, "suites", source).items())
    top: dict[str, Any] = {k: _coerce(data[k], str, k) for k in ("db", "device", "default_suite") if k in data}
    if "plugins" in data:
        plugins = data["plugins"] if isinstance(data["plugins"], list) else [data["plugins"]]
        top["plugins"] = tuple(_coerce(p, str, "plugins") for p in plugins)
    return Config(train=train, stats=_build(StatsConfig, _table(data, "stats", source), "stats"),
                  tasks=tuple(tasks.values()), suites=suites or (SuiteConfig(name="default"),),
                  check=_check(_table(data, "check", source), "check"), source=source, **top)
