"""bench.toml, loaded in one place into the frozen dataclasses of bench/config/schema.py; unknown keys, wrong
types and out-of-range values are one-line errors naming their place in the file."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, get_type_hints

from bench.config.schema import (
    BUILTIN_TASKS,
    DEFAULT_CONFIG,
    DEVICE,
    FOLDER_KINDS,
    CheckConfig,
    CheckThresholds,
    Config,
    EnergyConfig,
    StatsConfig,
    StrategySpec,
    SuiteConfig,
    TaskConfig,
    TrainConfig,
    WorkersConfig,
    check_ranges,
)
from bench.errors import BenchError
from bench.validate import coerce, did_you_mean


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    """Build a flat dataclass from a TOML table, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise BenchError(f"{where} must be a table, got {data!r}; fix it in bench.toml")
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise BenchError(f"unknown key {key!r} in {where}{did_you_mean(key, names)}; "
                             f"allowed keys: {', '.join(names)}")
        values[key] = _coerce(value, hints[key], f"{where}.{key}")
    check_ranges(cls, values, where)  # here, where the table's place in bench.toml is known
    return cls(**values)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    return coerce(value, hint, where, "; fix it in bench.toml")


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise BenchError(f"{where}.{key} must be a table; fix it in bench.toml")
    return value


def parse_strategy(item: Any, where: str) -> StrategySpec:
    """A strategy is "name", "name:key=value,key=value" (or its label, "name(key=value, key=value)") or an inline
    table {name = ..., key = value}. Strategies compose with `+` ("layer-drop:count=2+mixed-precision") or as
    {compose = [spec, spec]}; a composition is one spec named by its parts' labels joined with `+`."""
    if isinstance(item, str) and "+" in item or isinstance(item, dict) and "compose" in item:
        if isinstance(item, str):
            parts: Any = item.split("+")
        elif set(item) != {"compose"} or not isinstance(item["compose"], list):
            raise BenchError(f"{where}: write a composition as {{ compose = [{{ name = ... }}, ...] }} with no other "
                             f"keys, got {item!r}")
        else:
            parts = item["compose"]
        specs = [parse_strategy(part, where) for part in parts]
        if len(specs) < 2 or any("+" in spec.name for spec in specs):
            raise BenchError(f"{where}: a composition joins two or more strategies, got {item!r}; write "
                             "NAME:key=value+NAME")
        return StrategySpec("+".join(spec.label for spec in specs))
    if isinstance(item, str):
        text = item.strip()
        if text.endswith(")") and "(" in text and ":" not in text:  # a label, as tables print it
            text = text[:-1].replace("(", ":", 1)
        name, _, rest = text.partition(":")
        params: dict[str, Any] = {}
        for part in filter(None, rest.split(",")):
            key, eq, raw = part.partition("=")
            if not eq:
                raise BenchError(f"bad strategy parameter {part!r} in {item!r} ({where}); write "
                                 "NAME:key=value,key=value")
            params[key.strip()] = _parse_scalar(raw.strip())
        return StrategySpec(name.strip(), tuple(sorted(params.items())))
    if isinstance(item, dict) and isinstance(item.get("name"), str):
        if "+" in item["name"] and len(item) == 1:
            return parse_strategy(item["name"], where)
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
    if not isinstance(data, dict):
        raise BenchError(f"{where} must be a table ([{where}]), got {data!r}; fix it in bench.toml")
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
    if "until_decided" in data:
        values["until_decided"] = _coerce(data["until_decided"], bool, f"{where}.until_decided")
    if "max_seeds" in data:
        values["max_seeds"] = _coerce(data["max_seeds"], int, f"{where}.max_seeds")
    if "controls" in data:
        values["controls"] = _coerce(data["controls"], bool, f"{where}.controls")
    if "ladder" in data:  # may be empty: no ladder
        items = data["ladder"] if isinstance(data["ladder"], list) else [data["ladder"]]
        values["ladder"] = tuple(_coerce(v, float, f"{where}.ladder") for v in items)
    for key, kind in (("models", str), ("seeds", int), ("train_fractions", float), ("train_sizes", int),
                      ("world_sizes", int)):
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


TOP_KEYS = ("db", "device", "default_suite", "plugins", "train", "stats", "tasks", "suites", "check", "workers",
            "energy")


def load_config(path: str | Path | None = None) -> Config:
    """Load bench.toml (or `path`); without a file the built-in defaults apply."""
    explicit = path is not None
    path = Path(path or DEFAULT_CONFIG)
    if not path.exists():
        if explicit:
            raise BenchError(f"config file {path} not found; pass an existing file to --config")
        return Config(tasks=BUILTIN_TASKS, suites=(SuiteConfig(name="default"),))
    if path.is_dir():
        raise BenchError(f"config {path} is a folder, not a file; pass a bench.toml file to --config")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise BenchError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    except OSError as exc:
        raise BenchError(f"cannot read config {path} ({exc.strerror or exc}); pass a readable file to --config") \
            from None
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
        if not isinstance(table, dict):
            raise BenchError(f"tasks.{name} must be a table ([tasks.{name}]), got {table!r}; fix it in bench.toml")
        base = dataclasses.asdict(tasks.get(name, TaskConfig(name=name)))
        base.update(table)
        tasks[name] = _build(TaskConfig, base, f"tasks.{name}")
        if tasks[name].kind in FOLDER_KINDS and not tasks[name].path.strip():
            raise BenchError(f"tasks.{name}.path is empty; set it to the folder holding the task's files in "
                             "bench.toml")
    suites = tuple(_suite(name, table, train, f"suites.{name}")
                   for name, table in _table(data, "suites", source).items())
    for suite in suites:
        if suite.task not in tasks and not Path(suite.task).is_dir():
            raise BenchError(f"suites.{suite.name}.task = {suite.task!r} names no task"
                             f"{did_you_mean(suite.task, list(tasks))}; use one of {', '.join(tasks)}, define "
                             f"[tasks.{suite.task}], or name a folder holding train.jsonl and test.jsonl")
    top: dict[str, Any] = {k: _coerce(data[k], str, k) for k in ("db", "device", "default_suite") if k in data}
    if "device" in top and not DEVICE.fullmatch(top["device"]):
        raise BenchError(f"device must be auto, cpu, cuda or cuda:N, got {top['device']!r}; fix it in bench.toml")
    names = [s.name for s in suites or (SuiteConfig(name="default"),)]
    if "default_suite" in top and top["default_suite"] not in names:
        raise BenchError(f"default_suite = {top['default_suite']!r} names no suite"
                         f"{did_you_mean(top['default_suite'], names)}; suites: {', '.join(names)} "
                         "(defined as [suites.NAME]); fix it in bench.toml")
    top["workers"] = _build(WorkersConfig, _table(data, "workers", source), "workers")
    top["energy"] = _build(EnergyConfig, _table(data, "energy", source), "energy")
    if "plugins" in data:
        plugins = data["plugins"] if isinstance(data["plugins"], list) else [data["plugins"]]
        top["plugins"] = tuple(_coerce(p, str, "plugins") for p in plugins)
    return Config(train=train, stats=_build(StatsConfig, _table(data, "stats", source), "stats"),
                  tasks=tuple(tasks.values()), suites=suites or (SuiteConfig(name="default"),),
                  check=_check(_table(data, "check", source), "check"), source=source, **top)
