"""Stored runs written the way the runner writes them, for the tests of everything that reads a results database
(dashboard, report, copy, step times, migrations)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy import create_engine, text

from bench.config import StatsConfig
from bench.metrics import summarise
from bench.results.identity import RunIdentity
from bench.results.store import Store
from tests.support.models import TINY4

STATS = StatsConfig(bootstrap_samples=200)
MODEL = TINY4
# strategy, params, train seconds, how much worse its ranks are than the baseline's
STRATEGIES = [("baseline", {}, 30.0, 1.0), ("zero-shot", {}, 0.0, 1.6), ("layer-drop", {"count": 2}, 19.0, 1.05),
              ("layer-freeze", {"count": 2}, 24.0, 1.2)]


def label(name: str, params: dict) -> str:
    return name + ("(" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + ")" if params else "")


def add_run(store: Store, name: str, params: dict, seed: int, seconds: float, worse: float, *,
            fraction: float = 1.0, queries: int = 80, status: str = "completed", step_seconds=None,
            energy: tuple[float, str] | None = None) -> str:
    """One run written the way the runner writes it: start_run, then complete_run (or fail_run); no step times
    unless `step_seconds` is given (as for runs stored before bench kept them), no energy unless `energy`
    (joules, source) is (spent evenly along the curve)."""
    rng = np.random.default_rng(seed)
    difficulty = rng.gamma(2.0, 3.0, size=queries)  # the same per seed for every strategy: paired
    ranks = np.clip(1 + (difficulty * worse * np.random.default_rng([seed, len(name)]).uniform(0.5, 1.5, queries)
                         ).astype(np.int64), 1, 40)
    intent = np.maximum(1, ranks // 3)
    settings = {"train": {"batch_size": 16, "epochs": 2.0, "learning_rate": 1e-4, "train_fraction": fraction},
                "task": "toy", "task_hash": "t0", "model": MODEL, "model_hash": "m0", "train_fraction": fraction,
                "headline_metric": "mrr"}
    run_id = store.start_run(RunIdentity(
        suite="t", strategy=name, label=label(name, params), params=params, task="toy", task_version="t0",
        task_hash="t0", model=MODEL, model_hash="m0", seed=seed, train_fraction=fraction,
        settings_hash=f"s{fraction}", config_hash=f"c{name}{params}{seed}{fraction}", settings=settings,
        device_type="cpu", device_name="AMD EPYC (2 threads)", device_count=1, hardware_hash="h0",
        environment={"python": "3.11.7", "torch": "2.13.0", "device_type": "cpu"}, git_commit="abc123",
        git_dirty=False, headline_metric="mrr", total_params=1_044_032,
        trainable_params=12_704 if name == "layer-freeze" else 1_044_032, layers=2 if name == "layer-drop" else 4))
    if status == "running":
        return run_id
    if status == "failed":
        store.fail_run(run_id, "RuntimeError: out of memory")
        return run_id
    metrics = summarise(ranks, intent)
    points = 1 if seconds == 0 else 4
    curve = [{"step": 10 * i, "seconds": seconds * i / max(1, points - 1), "mrr": metrics["mrr"] * (0.7 + 0.1 * i),
              "intent_recall_at_3": metrics["intent_recall_at_3"], "headline": metrics["mrr"] * (0.7 + 0.1 * i)}
             for i in range(points)]
    for i, point in enumerate(curve):
        point["joules"] = energy[0] * i / max(1, points - 1) if energy else None
    results = {"train_seconds": seconds, "eval_seconds": 1.0, "device_hours": seconds / 3600,
               "peak_memory_bytes": 500_000_000, "memory_kind": "process_max_rss",
               "samples_per_second": 480 / seconds if seconds else None, "steps": 0 if seconds == 0 else 30,
               "train_pairs": round(240 * fraction), "test_pairs": queries, "test_left_out": 0,
               "ideal_speedup": None if seconds == 0 else 30.0 / seconds, **metrics,
               **({"energy_joules": energy[0], "energy_source": energy[1], "energy_meter": energy[1]} if energy
                  else {})}
    store.complete_run(run_id, results, curve, ranks, intent, step_seconds)
    return run_id


def make_db(path: Path) -> str:
    """Two cells (data fraction 0.5, then 1.0, the newest) of 3-4 strategies x 2 seeds, one running and one
    failed run."""
    url = f"sqlite:///{path}"
    store = Store(url)
    for seed in (0, 1):
        for name, params, seconds, worse in [*STRATEGIES[:2], ("layer-freeze", {}, 24.0, 1.1)]:
            add_run(store, name, params, seed, seconds / 2, worse, fraction=0.5)
    for seed in (0, 1):
        for name, params, seconds, worse in STRATEGIES:
            add_run(store, name, params, seed, seconds * (1 + 0.03 * seed), worse)
    add_run(store, "layer-drop", {"count": 3}, 0, 0, 1, status="running")
    add_run(store, "layer-freeze", {"count": 3}, 1, 0, 1, status="failed")
    return url


def count(url: str, query: str) -> list[tuple]:
    """Rows of a raw SQL query on a database by URL ([] before bench made its tables): what the worker tests
    count runs with, independently of the store."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            has_runs = "runs" in conn.dialect.get_table_names(conn)
            return [tuple(row) for row in conn.execute(text(query))] if has_runs else []
    finally:
        engine.dispose()
