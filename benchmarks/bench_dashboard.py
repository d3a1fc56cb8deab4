"""How fast the dashboard's leaderboard is on a results database of 10,000 runs.

The dashboard must stay usable on a database that has collected months of runs, so this builds a
synthetic one through bench's store models (bulk ORM inserts; realistic ranks, curves, fingerprints)
and times exactly what the dashboard computes for its default filter selection, with a cold cache.

    python benchmarks/bench_dashboard.py                     # build /tmp DB, print timings
    python benchmarks/bench_dashboard.py --db /tmp/10k.db    # reuse (or create) a DB file
    python -m pytest benchmarks/bench_dashboard.py           # the same as a pytest-benchmark test
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from bench.config import StatsConfig
from bench.metrics import summarise
from bench.results.models import CurvePoint, QueryRanks, Run
from bench.results.store import Store
from dashboard import data

ROOT = Path(__file__).resolve().parent.parent

SUITES = {"default": "cuda", "smoke": "cpu", "sweep": "cuda", "nightly": "cuda"}
TASKS = {"email": "recall_at_1", "sgd": "intent_recall_at_3"}
MODELS = {"all-MiniLM-L6-v2": 6, "bert-small": 4, "tiny-bert:layers=4,hidden=32,heads=2": 4}
FRACTIONS = (0.25, 1.0)
# (strategy, params, time reduction, relevance change in rank scale) -- 13 strategies per cell
STRATEGIES = [("zero-shot", {}, 1.0, 1.8), ("baseline", {}, 0.0, 1.0)]
STRATEGIES += [("layer-drop", {"count": c}, 0.15 * c, 1.0 + 0.04 * c * c) for c in (1, 2, 3, 4)]
STRATEGIES += [("layer-freeze", {"count": c}, 0.08 * c, 1.0 + 0.02 * c) for c in (1, 2, 3, 4)]
STRATEGIES += [("drop-freeze", {"drop": d, "freeze": f}, 0.15 * d + 0.08 * f, 1.0 + 0.05 * d * d + 0.02 * f)
               for d, f in ((1, 2), (2, 2), (2, 3))]
SEEDS = tuple(range(8))
REPEATS = 2  # every (strategy, seed) was run twice; the newer run supersedes the older
WHITELIST = 300


def _hash(*parts: object) -> str:
    return uuid.uuid5(uuid.NAMESPACE_OID, json.dumps(parts, default=str)).hex[:16]


def _label(name: str, params: dict) -> str:
    return name + ("(" + ", ".join(f"{k}={v}" for k, v in sorted(params.items())) + ")" if params else "")


def build_db(path: Path, n_runs: int = 10_000, queries: int = 1000, seed: int = 0) -> str:
    """Write a synthetic results database of `n_runs` runs; returns its URL.

    Cells (suite x task x model x fraction) hold 13 strategies x 8 seeds x 2 repeats = 208 runs each;
    the runs left over after whole cells are stored as `running` or `failed`.
    """
    url = f"sqlite:///{path}"
    store = Store(url)
    rng = np.random.default_rng(seed)
    start = datetime(2026, 1, 1)
    cells = [(s, t, m, f) for s in SUITES for t in TASKS for m in MODELS for f in FRACTIONS]
    per_cell = len(STRATEGIES) * len(SEEDS) * REPEATS
    full_cells = min(len(cells), n_runs // per_cell)
    env = {"python": "3.11.7", "torch": "2.13.0", "transformers": "5.23.0", "bench": "0.1.0",
           "platform": "Linux-6.8-x86_64", "git_commit": "0" * 40, "git_dirty": False}
    runs, curves, ranks = [], [], []
    clock = 0
    for index, (suite, task, model, fraction) in enumerate(cells[:full_cells]):
        device = SUITES[suite]
        hardware = {"device_type": device, "device_name": "NVIDIA H100" if device == "cuda" else "AMD EPYC",
                    "device_count": 1}
        train = {"batch_size": 32, "epochs": 1.0, "learning_rate": 1e-4, "max_train_pairs": 2048,
                 "train_fraction": fraction, "curve_points": 5, "dev_eval_pairs": 200}
        settings = {"train": train, "task": task, "task_hash": _hash(task), "model": model,
                    "model_hash": _hash(model), "train_fraction": fraction, "headline_metric": TASKS[task]}
        difficulty = rng.gamma(2.0, 4.0 * (1 + index % 3), size=queries)  # shared by every run: paired
        base_seconds = 600.0 * fraction * MODELS[model] / 6
        for _ in range(REPEATS):
            for s in SEEDS:
                seed_effect = rng.normal(1.0, 0.05)
                for name, params, reduction, worse in STRATEGIES:
                    clock += 1
                    run_id = str(uuid.uuid4())
                    scale = difficulty * worse * seed_effect
                    r = np.clip(1 + rng.exponential(scale).astype(np.int64), 1, WHITELIST).astype(np.int32)
                    intent = np.maximum(1, r // 3).astype(np.int32)
                    metrics = summarise(r, intent)
                    seconds = 0.0 if name == "zero-shot" else base_seconds * (1 - reduction) * rng.normal(1, 0.03)
                    began = start + timedelta(seconds=30 * clock)
                    runs.append({
                        "id": run_id, "suite": suite, "strategy": name, "label": _label(name, params),
                        "params": params, "task": task, "task_version": _hash(task), "task_hash": _hash(task),
                        "model": model, "model_hash": _hash(model), "seed": s, "train_fraction": fraction,
                        "settings_hash": _hash(settings), "settings": settings, "status": "completed",
                        "config_hash": _hash(settings, name, params, s), "started_at": began,
                        "ended_at": began + timedelta(seconds=seconds + 20), "device_type": device,
                        "device_name": hardware["device_name"], "device_count": 1,
                        "hardware_hash": _hash(hardware), "environment": {**env, **hardware},
                        "git_commit": env["git_commit"], "git_dirty": False, "train_seconds": seconds,
                        "eval_seconds": 4.0, "device_hours": seconds / 3600, "peak_memory_bytes": 2_000_000_000,
                        "memory_kind": "cuda_max_allocated", "samples_per_second": 2048 * fraction / seconds
                        if seconds else None, "steps": 0 if name == "zero-shot" else 64, "train_pairs": 2048,
                        "total_params": 22_700_000, "trainable_params": 22_700_000, "layers": MODELS[model],
                        "test_pairs": queries, "test_left_out": 0, "headline_metric": TASKS[task],
                        "ideal_speedup": None if name == "zero-shot" else 1 / max(0.05, 1 - reduction),
                        **metrics})
                    ranks.append({"run_id": run_id, "ranks": r.tobytes(), "intent_ranks": intent.tobytes()})
                    final = metrics[TASKS[task]] * rng.normal(1.0, 0.02)
                    points = 1 if name == "zero-shot" else 6
                    for step in range(points):
                        progress = 1.0 if points == 1 else step / (points - 1)
                        value = final * (0.6 + 0.4 * np.sqrt(progress))
                        curves.append({"run_id": run_id, "step": step * 13, "seconds": seconds * progress,
                                       "mrr": value, "intent_recall_at_3": value, "headline": float(value)})
    for extra in range(n_runs - len(runs)):
        clock += 1
        failed = extra % 3 == 0
        suite, task, model, fraction = cells[extra % len(cells)]
        name, params, _, _ = STRATEGIES[2 + extra % (len(STRATEGIES) - 2)]
        runs.append({"id": str(uuid.uuid4()), "suite": suite, "strategy": name, "label": _label(name, params),
                     "params": params, "task": task, "task_version": "v", "task_hash": _hash(task),
                     "model": model, "model_hash": _hash(model), "seed": extra % 8, "train_fraction": fraction,
                     "settings_hash": "s", "settings": {}, "config_hash": "c",
                     "status": "failed" if failed else "running", "error": "RuntimeError: CUDA out of memory"
                     if failed else None, "started_at": start + timedelta(seconds=30 * clock),
                     "device_type": SUITES[suite], "device_name": "NVIDIA H100", "device_count": 1,
                     "hardware_hash": "h", "environment": env, "headline_metric": TASKS[task]})
    with store.session() as session:
        for table, rows in ((Run, runs), (QueryRanks, ranks), (CurvePoint, curves)):
            for begin in range(0, len(rows), 2000):
                session.execute(insert(table), rows[begin : begin + 2000])
    return url


def dashboard_default_view(url: str, stats: StatsConfig) -> dict:
    """Everything the dashboard computes on a cold cache for its default filter selection."""
    store = data.open_store(url)
    index = data.run_index(store)
    selection = data.default_selection(index)
    board = data.load_board(store, stats, "baseline", selection)
    curves = data.strategy_curves(store, board, index, selection)
    details = data.cell_runs(store, selection)
    unfinished = data.unfinished_runs(store)
    return {"selection": selection, "board": board, "curves": curves, "details": details, "unfinished": unfinished}


def time_default_view(url: str, stats: StatsConfig, repeat: int = 3) -> tuple[float, dict]:
    """Best of `repeat` cold computations (no cache is kept between them)."""
    best, view = float("inf"), {}
    for _ in range(repeat):
        started = time.perf_counter()
        view = dashboard_default_view(url, stats)
        best = min(best, time.perf_counter() - started)
    return best, view


def time_app(url: str, repeat: int = 3) -> tuple[float, float]:
    """Full runs of the Streamlit script (AppTest, no browser), each with an empty cache: the render the user
    waits for after the database changed. Returns (first run, which also imports Streamlit's and Altair's
    modules as a fresh server would once, best of the later runs)."""
    import os

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["BENCH_DB"] = url
    times = []
    for _ in range(repeat):
        st.cache_data.clear()
        app = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
        started = time.perf_counter()
        app.run()
        times.append(time.perf_counter() - started)
        if app.exception:
            raise RuntimeError(app.exception[0].value)
    return times[0], min(times[1:] or times)


def test_dashboard_leaderboard_10k_runs(benchmark, tmp_path_factory):
    """pytest-benchmark: the default view on 10,000 runs (stats as in bench.toml)."""
    url = build_db(tmp_path_factory.mktemp("bench") / "10k.db")
    view = benchmark.pedantic(dashboard_default_view, args=(url, StatsConfig()), rounds=3, iterations=1,
                              warmup_rounds=1)
    assert len(view["board"].rows) == len(STRATEGIES)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="SQLite file to use; built if missing (default: a temp file)")
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=1000, help="test queries per run")
    parser.add_argument("--bootstrap", type=int, default=StatsConfig().bootstrap_samples)
    parser.add_argument("--app", action="store_true", help="also time a full Streamlit script run (AppTest)")
    args = parser.parse_args(argv)
    path = args.db or Path(tempfile.mkdtemp()) / "dashboard-bench.db"
    if not path.exists():
        started = time.perf_counter()
        build_db(path, args.runs, args.queries)
        print(f"built {path} ({args.runs} runs, {args.queries} queries each) in "
              f"{time.perf_counter() - started:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
    url = f"sqlite:///{path}"
    stats = StatsConfig(bootstrap_samples=args.bootstrap)
    total = len(Store(url, read_only=True).runs(status=None))
    seconds, view = time_default_view(url, stats)
    cell = ", ".join(f"{k}={v}" for k, v in view["selection"].items())
    print(f"runs in DB: {total}; default selection: {cell}; {len(view['details'])} runs in it, "
          f"{len(view['board'].rows)} leaderboard rows, bootstrap {args.bootstrap}")
    print(f"dashboard default view (cold): {seconds:.3f} s (best of 3)")
    if args.app:
        first, best = time_app(url)
        print(f"streamlit script run (AppTest, cold cache): {best:.3f} s (best of 2; first run with imports "
              f"{first:.3f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
