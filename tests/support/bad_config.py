"""The generated bad configs for tests/test_bad_input.py: each case's folder (`Env`), the valid base config, its
mutated copies, the `Case` record and the config cases (wrong types, unknown
keys, out-of-range values, broken TOML).
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_type_hints

from bench.config import CheckThresholds, StatsConfig, TaskConfig, TrainConfig
from tests.support.models import TINY
from tests.support.suites import toml_text, toml_value

NAN, INF = math.nan, math.inf
DELETE = object()


# --------------------------------------------------------------------------------------------------- environment


@dataclass(frozen=True)
class Env:
    """One case's folder: a tiny task, a valid bench.toml pointing at it and a valid (empty) results database."""

    tmp: Path
    pg_url: str = ""

    @property
    def task(self) -> Path:
        return self.tmp / "task"

    @property
    def valid_db(self) -> Path:
        return self.tmp / "valid.db"

    @property
    def valid_url(self) -> str:
        return f"sqlite:///{self.valid_db}"

    def path(self, name: str) -> str:
        return str(self.tmp / name)


def base_config(env: Env) -> dict:
    return {
        "db": env.valid_url, "device": "cpu", "default_suite": "s",
        "train": {"batch_size": 8, "max_train_pairs": 16, "curve_points": 1, "dev_eval_pairs": 8,
                  "eval_batch_size": 64},
        "stats": {"bootstrap_samples": 50},
        "tasks": {"tiny": {"path": str(env.task)}},
        "suites": {"s": {"task": "tiny", "models": [TINY], "seeds": [0], "strategies": ["zero-shot", "baseline"],
                         "train": {"epochs": 1.0}, "check": {"max_relevance_loss": 0.5}}},
        "check": {"min_time_reduction": 0.0},
    }


def mutated(doc: dict, dotted: str, value: Any) -> dict:
    doc = json.loads(json.dumps(doc))  # a deep copy (the base holds only JSON types)
    *parents, last = dotted.split(".")
    table = doc
    for key in parents:
        table = table.setdefault(key, {})
    if value is DELETE:
        table.pop(last, None)
    else:
        table[last] = value
    return doc


# --------------------------------------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    id: str
    build: Callable[[Env], list[str]]  # prepares the case's files in env.tmp and returns the command line
    fragment: str = ""  # text the error line must contain (what is wrong)
    needs_pg: bool = False


def _config_case(case_id: str, edits: list[tuple[str, Any]], fragment: str, command: tuple[str, ...] = ("run",),
                 base: Callable[[Env], dict] = base_config) -> Case:
    def build(env: Env) -> list[str]:
        doc = base(env)
        for dotted, value in edits:
            doc = mutated(doc, dotted, value)
        (env.tmp / "bad.toml").write_text(toml_text(doc))
        return ["--config", env.path("bad.toml"), *command, *(["--quiet"] if command[0] == "run" else [])]

    return Case(case_id, build, fragment)


def _raw_config_case(case_id: str, content: str | bytes, fragment: str, command: str) -> Case:
    def build(env: Env) -> list[str]:
        path = env.tmp / "bad.toml"
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return ["--config", str(path), command]

    return Case(case_id, build, fragment)


# A wrong value for each kind of field, and extra wrong values tried on the first field of each kind.
WRONG = {int: ["3", 2.5, True], float: ["fast", True, [1.0]], bool: ["yes", 1], str: [5, ["x"]]}


def _wrong_type_cases() -> list[Case]:
    cases = []
    tables = [("train", TrainConfig), ("suites.s.train", TrainConfig), ("stats", StatsConfig),
              ("tasks.tiny", TaskConfig), ("check", CheckThresholds), ("suites.s.check", CheckThresholds)]
    for where, cls in tables:
        seen: set = set()
        hints = get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name == "name":
                continue
            kind = next(t for t in (bool, int, float, str) if t is hints[f.name] or t in get_args(hints[f.name]))
            first = kind not in seen
            seen.add(kind)
            if where == "suites.s.train" and not first:  # a suite's train table: one field of each kind
                continue
            values = WRONG[kind] if first and where == "train" else WRONG[kind][:1]
            for i, value in enumerate(values):
                cases.append(_config_case(f"type-{where}.{f.name}-{i}", [(f"{where}.{f.name}", value)],
                                          f"{where}.{f.name}"))
    for dotted, value in [("suites.s.task", 5), ("suites.s.models", [5]), ("suites.s.models", 5),
                          ("suites.s.seeds", ["a"]), ("suites.s.seeds", [1.5]), ("suites.s.train_fractions", ["x"]),
                          ("suites.s.strategies", 5), ("suites.s.strategies", "baseline"),
                          ("suites.s.strategies", [5]), ("suites.s.strategies", [{"count": 2}]),
                          ("suites.s.baseline", 5), ("suites.s.train", 5), ("suites.s.check", 5),
                          ("suites.s", 5), ("tasks.tiny", 5), ("check.strategies", 5),
                          ("check.strategies.baseline", 5), ("suites.s.check.strategies.baseline", "x"),
                          ("db", 5), ("device", 5), ("default_suite", 5), ("plugins", 5), ("plugins", [5]),
                          ("train", 5), ("stats", 5), ("tasks", 5), ("suites", 5), ("check", 5)]:
        cases.append(_config_case(f"type-{dotted}={toml_value(value)}", [(dotted, value)], dotted.split(".")[-1]))
    return cases


UNKNOWN_KEYS = ["dbb", "train.epoch", "train.learningrate", "stats.confidance", "suites.s.seed", "suites.s.train.lr",
                "suites.s.checks", "tasks.tiny.paht", "check.min_time", "suites.s.check.max_loss",
                "check.strategies.baseline.max_loss", "suites.s.check.strategies.baseline.min_time", "energy.watts"]

OUT_OF_RANGE: list[tuple[str, Any]] = [
    ("train.epochs", 0.0), ("train.epochs", -1.0), ("train.epochs", NAN), ("train.epochs", INF),
    ("train.learning_rate", 0.0), ("train.learning_rate", -1e-4), ("train.learning_rate", INF),
    ("train.batch_size", 1), ("train.batch_size", 0), ("train.batch_size", -8),
    ("train.eval_batch_size", 0), ("train.eval_batch_size", -1), ("train.curve_points", 0),
    ("train.curve_points", -2), ("train.dev_eval_pairs", -1), ("train.max_train_pairs", -1),
    ("train.warmup_ratio", -0.1), ("train.warmup_ratio", 1.0), ("train.warmup_ratio", NAN),
    ("train.scale", 0.0), ("train.scale", -20.0), ("train.weight_decay", -0.01), ("train.weight_decay", NAN),
    ("train.max_message_length", 0), ("train.max_reply_length", -1), ("train.train_fraction", 0.0),
    ("train.train_fraction", 1.5), ("train.precision", "fp16"), ("train.max_steps", -1),
    ("suites.s.train.epochs", -1.0), ("suites.s.train.learning_rate", 0.0), ("suites.s.train.batch_size", 1),
    ("suites.s.train.warmup_ratio", 2.0), ("suites.s.train.curve_points", 0), ("suites.s.train.dev_eval_pairs", -5),
    ("stats.confidence", 0.0), ("stats.confidence", 1.0), ("stats.confidence", 95.0), ("stats.confidence", -0.5),
    ("stats.confidence", NAN), ("stats.bootstrap_samples", 0), ("stats.bootstrap_samples", -100),
    ("stats.bootstrap_seed", -1), ("stats.margin", -0.01), ("stats.margin", NAN), ("stats.target_fraction", 0.0),
    ("stats.target_fraction", 1.01),
    ("tasks.tiny.dev_fraction", 0.0), ("tasks.tiny.dev_fraction", 1.0), ("tasks.tiny.dev_fraction", -0.1),
    ("tasks.tiny.whitelist_size", -1), ("tasks.tiny.headline_metric", "accuracy"), ("tasks.tiny.kind", "csv"),
    ("tasks.tiny.path", ""),
    ("suites.s.seeds", [-1]), ("suites.s.seeds", [0, -3]), ("suites.s.train_fractions", [0.0]),
    ("suites.s.train_fractions", [1.5]), ("suites.s.train_fractions", [-0.5]), ("suites.s.train_fractions", [NAN]),
    ("suites.s.task", "no-such-task"), ("suites.s.baseline", "no-such-strategy"), ("suites.s.models", [""]),
    ("suites.s.strategies", ["no-such-strategy"]), ("suites.s.strategies", [{"name": "layer-drop", "cnt": 1}]),
    ("device", "tpu"), ("device", "cuda"), ("default_suite", "no-such-suite"),
    ("plugins", ["no_such_plugin_module"]), ("db", "nonsense"),
    ("energy.watts_per_core", 0.0), ("energy.watts_per_core", NAN),
    ("suites.s.strategies", [{"name": "drop-freeze", "freeze_fraction": 1.5}]),
]

# Equal-time controls (docs/methodology.md): each a one-line error when the suite is loaded, before any run. The
# base suite trains 2 steps (16 pairs, batch 8), so a rung of 0.2 rounds below one step.
CONTROL_CASES: list[tuple[str, list[tuple[str, Any]], str, tuple[str, ...]]] = [
    ("control-of-zero-shot", [("suites.s.strategies", ["zero-shot", "baseline", "equal-time:matches=zero-shot"])],
     "does not train", ("run",)),
    ("control-of-the-baseline", [("suites.s.strategies", ["baseline", "equal-time:matches=baseline"])], "baseline",
     ("run",)),
    ("control-of-nothing", [("suites.s.strategies", ["baseline", "equal-time:matches=layer-drop(count=9)"])],
     "matches no strategy", ("run",)),
    ("control-neither", [("suites.s.strategies", ["baseline", "equal-time"])], "exactly one", ("run",)),
    ("control-both", [("suites.s.strategies", ["baseline", {"name": "equal-time", "matches": "zero-shot",
                                                            "fraction": 0.5}])], "exactly one", ("run",)),
    ("control-fraction-out-of-range", [("suites.s.strategies", ["baseline", "equal-time:fraction=1.5"])],
     "fraction", ("run",)),
    ("control-steps-given", [("suites.s.strategies", ["baseline", "equal-time:fraction=0.5,steps=1"])], "steps",
     ("run",)),
    ("control-below-one-step", [("suites.s.strategies", ["baseline", "equal-time:fraction=0.2"])], "one step",
     ("run",)),
    ("ladder-below-one-step", [("suites.s.ladder", [0.2])], "one step", ("run",)),
    ("ladder-above-one", [("suites.s.ladder", [1.5])], "ladder", ("run",)),
    ("ladder-zero", [("suites.s.ladder", [0.0])], "ladder", ("run",)),
    ("ladder-twice", [("suites.s.ladder", [0.5, 0.5])], "ladder", ("run",)),
    ("ladder-not-numbers", [("suites.s.ladder", ["half"])], "ladder", ("run",)),
    ("controls-not-bool", [("suites.s.controls", "yes")], "controls", ("run",)),
    ("controls-other-baseline", [("suites.s.controls", True), ("suites.s.baseline", "zero-shot"),
                                 ("suites.s.strategies", ["zero-shot", "baseline"]), ("suites.s.ladder", [0.5])],
     "plain `baseline`", ("run",)),
    ("controls-on-several-ranks", [("suites.s.controls", True)], "one process", ("run", "--nproc", "2")),
    ("controls-flag-on-several-ranks", [], "one process", ("run", "--controls", "--nproc", "2")),
]

# Limits of the regression gate, checked by `check` (the command that reads them).
CHECK_OUT_OF_RANGE: list[tuple[str, Any]] = [
    ("check.max_relevance_loss", -0.1), ("check.max_slowdown", 1.0), ("check.min_time_reduction", NAN),
    ("suites.s.check.min_time_reduction", 1.5), ("suites.s.check.max_metric_drop", 2.0),
    ("suites.s.check.strategies.no-such-strategy", {"min_time_reduction": 0.1}),
    ("check.min_energy_reduction", 1.0),
]

TOML_SYNTAX = {
    "unclosed-header": "[train\nepochs = 1.0\n", "no-value": "db = \n", "unclosed-string": "db = 'x\n",
    "duplicate-key": "[train]\nepochs = 1.0\nepochs = 2.0\n", "duplicate-table": "[train]\n[train]\n",
    "no-key": "= 1\n", "unclosed-list": "[suites.s]\nseeds = [1, 2\n",
    "inline-trailing-comma": "[suites.s]\nstrategies = [{name = 'baseline',}]\n",
    "bare-word": "device = cpu\n", "nul-in-string": 'db = "a\x00b"\n',
}


def config_cases() -> list[Case]:
    cases = _wrong_type_cases()
    cases += [_config_case(f"unknown-key-{dotted}", [(dotted, 1)], f"'{dotted.split('.')[-1]}'")
              for dotted in UNKNOWN_KEYS]
    cases += [_config_case(f"range-{dotted}={toml_value(value)}", [(dotted, value)],
                           dotted.split(".")[-1] if dotted != "suites.s.strategies" else "")
              for dotted, value in OUT_OF_RANGE]
    cases += [_config_case(f"check-range-{dotted}={toml_value(value)}", [(dotted, value)], dotted.split(".")[-1],
                           ("check",)) for dotted, value in CHECK_OUT_OF_RANGE]
    cases += [_config_case(case_id, edits, fragment, command) for case_id, edits, fragment, command in CONTROL_CASES]
    cases += [_config_case(f"empty-list-{key}", [(f"suites.s.{key}", [])], key)
              for key in ("models", "seeds", "strategies", "train_fractions")]
    for name, text in TOML_SYNTAX.items():
        cases += [_raw_config_case(f"toml-{name}-{command}", text, "bad.toml", command)
                  for command in ("run", "list", "report")]
    cases += [_raw_config_case(f"toml-undecodable-{command}", b'db = "caf\xe9"\n\xff\xfe', "bad.toml", command)
              for command in ("run", "list")]
    cases += [_raw_config_case("toml-utf16", 'db = "x"\n'.encode("utf-16"), "bad.toml", "list")]

    def config_is_folder(env: Env) -> list[str]:
        (env.tmp / "conf.d").mkdir()
        return ["--config", env.path("conf.d"), "list"]

    cases += [Case("config-is-a-folder", config_is_folder, "conf.d"),
              Case("config-missing", lambda env: ["--config", env.path("nope.toml"), "list"], "nope.toml")]
    return cases
