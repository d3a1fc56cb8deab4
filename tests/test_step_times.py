"""Per-step training times: the clock splits the timed regions into steps that sum to the training time, and
the leaderboard, report, gate and dashboard lead with the paired-step (robust) time reduction where both sides
stored step times, falling back to the wall-clock one where they did not."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.analysis import gate, leaderboard, timing
from bench.config import StatsConfig, config_from_dict
from bench.measure import clock as clock_module
from bench.measure.clock import Stopwatch
from bench.render import tables as report
from bench.results.store import Store
from dashboard import views
from tests.support.stored import add_run

STATS = StatsConfig(bootstrap_samples=300)


def test_the_clock_splits_its_regions_into_steps_and_leaves_pauses_out(monkeypatch):
    ticks = iter([10.0, 10.5, 11.25, 11.5, 50.0, 50.75, 51.0])  # start, lap, lap, stop | pause | start, lap, stop
    monkeypatch.setattr(clock_module.time, "perf_counter", lambda: next(ticks))
    clock = Stopwatch(torch.device("cpu"))
    clock.start()
    clock.lap()
    clock.lap()
    clock.stop()
    clock.start()
    clock.lap()
    assert clock.stop() == clock.stop() == 2.5  # a second stop adds nothing
    # the tail between a region's last step end and its stop belongs to that step
    assert clock.step_seconds() == [0.5, 1.0, 1.0]
    assert sum(clock.step_seconds()) == pytest.approx(clock.seconds, abs=1e-12)


def _cell(store: Store, runs: dict[str, list[np.ndarray | None]]) -> dict[tuple[str, int], str]:
    """Runs of one cell whose train_seconds are the sums of their (float32) step times, or given without."""
    ids = {}
    for name, per_seed in runs.items():
        for seed, steps in enumerate(per_seed):
            total = float(np.sum(steps, dtype=np.float64)) if steps is not None else 3.0 + seed
            ids[(name, seed)] = add_run(store, name, {}, seed, total, 1.0, step_seconds=steps)
    return ids


def _noise_free(seed: int, ratio: float, fixed: float) -> np.ndarray:
    """Baseline steps of varying length (batches of different sizes), a strategy's as ratio x + a fixed cost."""
    base = 0.1 + 0.01 * (np.arange(30) % 5) + 0.002 * seed
    return (ratio * base + fixed).astype(np.float32)


def test_on_noise_free_step_times_the_robust_reduction_is_the_wall_clock_one(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/r.db")
    _cell(store, {"baseline": [_noise_free(s, 1.0, 0.0) for s in (0, 1)],
                  "layer-drop": [_noise_free(s, 0.6, 0.02) for s in (0, 1)]})
    rows = {row.strategy: row for row in leaderboard.build(store, STATS, suite="t").rows}
    drop = rows["layer-drop"]
    assert drop.time_reduction == pytest.approx(0.4 - 0.02 / 0.12, abs=0.05)  # it does vary by step
    assert drop.robust_time_reduction == pytest.approx(drop.time_reduction, abs=1e-9)
    assert drop.robust_time_reduction_ci.lo <= drop.robust_time_reduction <= drop.robust_time_reduction_ci.hi
    assert rows["baseline"].robust_time_reduction == 0


def test_the_leaderboard_uses_robust_reduction_on_the_stored_step_times(tmp_path):
    """With a burst in one run, the row's figure is timing.robust_reduction on exactly what the store holds."""
    store = Store(f"sqlite:///{tmp_path}/b.db")
    rng = np.random.default_rng(3)
    base = [(0.1 * rng.uniform(0.95, 1.05, 40)).astype(np.float32) for _ in (0, 1)]
    fast = [(0.05 * rng.uniform(0.95, 1.05, 40)).astype(np.float32) for _ in (0, 1)]
    fast[1][5:13] *= 6  # background load during eight steps of one run
    ids = _cell(store, {"baseline": base, "layer-drop": fast})
    row = next(r for r in leaderboard.build(store, STATS, suite="t").rows if r.strategy == "layer-drop")
    stored = store.step_times(list(ids.values()))
    expected = timing.robust_reduction({s: stored[ids[("layer-drop", s)]] for s in (0, 1)},
                                       {s: stored[ids[("baseline", s)]] for s in (0, 1)},
                                       STATS.confidence, STATS.bootstrap_samples, STATS.bootstrap_seed)
    assert (row.robust_time_reduction, row.robust_time_reduction_ci.lo, row.robust_time_reduction_ci.hi) == expected
    assert row.robust_time_reduction == pytest.approx(0.5, abs=0.02)
    assert row.time_reduction < 0.4  # the burst drags the wall-clock figure down
    text = report.render(leaderboard.build(store, STATS, suite="t"), "table")
    assert "wall red." in text and f"{row.robust_time_reduction * 100:.1f}% [" in text
    assert views.leaderboard_frame([row])["robust time reduction"].tolist() == [row.robust_time_reduction]
    config = config_from_dict({"suites": {"t": {"strategies": ["baseline", "layer-drop"],
                                                "check": {"min_time_reduction": 0.45}}}})
    checks, _ = gate.evaluate(config, config.suite("t"), leaderboard.build(store, STATS, suite="t"), None)
    assert [(c.passed, c.detail.split(":")[0]) for c in checks] == [(True, "robust, from paired step times")]


def test_without_step_times_on_either_side_the_wall_clock_reduction_leads(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/w.db")
    _cell(store, {"baseline": [_noise_free(0, 1.0, 0.0)], "layer-drop": [None]})
    board = leaderboard.build(store, STATS, suite="t")
    row = next(r for r in board.rows if r.strategy == "layer-drop")
    assert row.robust_time_reduction is None and row.robust_time_reduction_ci is None
    assert row.time_reduction is not None and row.to_json()["robust_time_reduction"] is None
    assert row.headline_time_reduction == (row.time_reduction, row.time_reduction_ci, False)
    assert report.display_rows(board)[1]["time red."].endswith("(wall)")
    config = config_from_dict({"suites": {"t": {"strategies": ["baseline", "layer-drop"],
                                                "check": {"min_time_reduction": 0.9}}}})
    checks, _ = gate.evaluate(config, config.suite("t"), board, None)
    assert [(c.passed, c.detail.split(":")[0]) for c in checks] == [(False, "wall-clock (no step times)")]
