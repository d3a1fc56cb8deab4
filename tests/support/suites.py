"""Small suites for the tests: a bench.toml written from a dict (one TOML writer), with the tiny model, a toy task
and few seeds unless a test says otherwise."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from tests.support.models import TINY

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(toml_value, value)) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_text(doc: dict, prefix: tuple[str, ...] = ()) -> str:
    """A dict as TOML: scalars, lists and inline tables under a [header], nested dicts as sub-tables."""
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    lines = ["[" + ".".join(map(_key, prefix)) + "]"] if prefix and (scalars or not tables) else []
    lines += [f"{_key(k)} = {toml_value(v)}" for k, v in scalars.items()]
    lines += [toml_text(v, (*prefix, k)) for k, v in tables.items()]
    return "\n".join(lines) + "\n"


def small_suite(task: Path | str, *, strategies: list[str] = ("baseline", "layer-drop:count=1"), seeds: int = 2,
                models: list[str] = (TINY,), name: str = "t", train: dict | None = None, **suite: Any) -> dict:
    """A bench.toml document with one suite `name`: quick training (batch 16, one curve point) unless `train`
    overrides it; other keyword arguments are more keys of the suite (check, train_fractions...)."""
    train = {"batch_size": 16, "curve_points": 1, **(train or {})}
    return {"suites": {name: {"task": str(task), "models": list(models), "seeds": list(range(seeds)),
                              "strategies": list(strategies), "train": train, **suite}}}


def write_config(path: Path, document: dict, extra: str = "") -> Path:
    """`document` as TOML at `path`, with `extra` TOML text appended (tables a test adds by hand)."""
    path.write_text(toml_text(document) + extra)
    return path


def worker_suite(task: Path | str, seeds: int = 2, epochs: float = 2.0) -> dict:
    """Three strategies with two curve points, and workers that beat and poll every half second: long enough to
    kill a process mid-suite, short enough to finish in seconds."""
    document = small_suite(task, strategies=["baseline", "layer-drop:count=1", "layer-freeze:count=1"], seeds=seeds,
                           train={"epochs": epochs, "curve_points": 2, "dev_eval_pairs": 20})
    return {**document, "workers": {"heartbeat_seconds": 0.5, "stale_after_seconds": 30, "poll_seconds": 0.5}}
