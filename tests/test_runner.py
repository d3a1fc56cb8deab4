"""End to end on a tiny model: runs are stored, deterministic per seed, and compared on the leaderboard."""

import dataclasses
import json

import numpy as np
import pytest

from bench.analysis import leaderboard, timing
from bench.analysis.rows import bounds
from bench.config import StatsConfig, config_from_dict
from bench.render import tables as report
from bench.results.store import Store
from bench.suite.runner import SuiteRun, run_suite
from tests.support.models import TINY4 as TINY
from tests.support.suites import small_suite


def suite_config(task_dir, seeds=(0, 1), strategies=None, **train):
    document = small_suite(task_dir, models=[TINY], strategies=strategies or [
        "zero-shot", "baseline", "layer-drop:count=2", "layer-freeze:count=2", "drop-freeze:drop=1,freeze=2"],
        train={"epochs": 2.0, "curve_points": 3, "dev_eval_pairs": 30, **train})
    document["suites"]["t"]["seeds"] = list(seeds)
    return config_from_dict(document)


@pytest.fixture(scope="module")
def suite_db(tmp_path_factory):
    from bench.tasks.toy import write_task

    folder = tmp_path_factory.mktemp("suite")
    task_dir = write_task(folder / "task")
    config = suite_config(task_dir)
    store = Store(f"sqlite:///{folder}/results.db")
    run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False))
    return config, store, task_dir


def test_every_run_is_stored_completed_with_its_measurements(suite_db):
    _, store, _ = suite_db
    runs = store.runs(status=None)
    assert len(runs) == 10 and {r.status for r in runs} == {"completed"}
    for run in runs:
        assert run.environment["torch"] and run.environment["python"]
        assert run.device_type == "cpu" and run.device_count == 1
        assert run.test_pairs > 0 and 0 <= run.mrr <= 1
        if run.strategy == "zero-shot":
            assert run.train_seconds == 0 and run.steps == 0
        else:
            assert run.train_seconds > 0 and run.steps == 2 * (240 // 16)
            assert run.device_hours == pytest.approx(run.train_seconds / 3600)
            assert run.samples_per_second == pytest.approx(run.steps * 16 / run.train_seconds)
    drop = next(r for r in runs if r.strategy == "layer-drop")
    assert drop.layers == 2 and drop.ideal_speedup > 1


def test_training_curve_is_recorded_outside_the_timed_region(suite_db):
    _, store, _ = suite_db
    base = next(r for r in store.runs() if r.strategy == "baseline")
    curve = store.curves([base.id])[base.id]
    assert [p.step for p in curve] == [0, 10, 20, 30]
    assert curve[0].seconds == 0 and curve[-1].seconds == pytest.approx(base.train_seconds)
    assert all(a.seconds < b.seconds for a, b in zip(curve, curve[1:], strict=False))


def test_step_times_are_stored_and_sum_to_the_training_time(suite_db):
    """One per step, dev evaluations left out (their running sums meet the curve's seconds); none for zero-shot."""
    _, store, _ = suite_db
    runs = store.runs()
    times = store.step_times([r.id for r in runs])
    assert {r.strategy for r in runs if r.id not in times} == {"zero-shot"}
    for run in runs:
        if run.id in times:
            steps = times[run.id]
            assert steps.dtype == np.float32 and len(steps) == run.steps and (steps > 0).all()
            assert steps.sum(dtype=np.float64) == pytest.approx(run.train_seconds, rel=1e-5)  # float32 storage
            elapsed = np.cumsum(steps, dtype=np.float64)
            for point in store.curves([run.id])[run.id][1:]:
                assert elapsed[point.step - 1] == pytest.approx(point.seconds, rel=1e-5)


def test_the_leaderboard_leads_with_the_robust_reduction_of_the_stored_step_times(suite_db):
    _, store, _ = suite_db
    stats = StatsConfig(bootstrap_samples=200)
    rows = {row.strategy: row for row in leaderboard.build(store, stats, suite="t").rows}
    times = store.step_times([r.id for r in store.runs()])
    by_seed = {(r.label, r.seed): times.get(r.id) for r in store.runs()}
    drop = rows["layer-drop(count=2)"]
    expected = timing.robust_reduction({s: by_seed[("layer-drop(count=2)", s)] for s in (0, 1)},
                                       {s: by_seed[("baseline", s)] for s in (0, 1)}, stats.confidence,
                                       stats.bootstrap_samples, stats.bootstrap_seed)
    assert (drop.robust_time_reduction, *bounds(drop.robust_time_reduction_ci)) == expected
    assert rows["zero-shot"].robust_time_reduction is None and rows["baseline"].robust_time_reduction == 0


def test_same_seed_gives_same_relevance(suite_db, tmp_path):
    config, store, task_dir = suite_db
    again = Store(f"sqlite:///{tmp_path}/again.db")
    rerun = suite_config(task_dir, seeds=(1,), strategies=["baseline", "layer-freeze:count=2"])
    run_suite(SuiteRun(rerun, rerun.suite("t"), again, show_progress=False))
    first = {(r.label, r.seed): r for r in store.runs()}
    for run in again.runs():
        original = first[(run.label, run.seed)]
        assert run.metrics() == original.metrics()
        assert (again.ranks([run.id])[run.id][0] == store.ranks([original.id])[original.id][0]).all()


def test_leaderboard_compares_with_the_baseline(suite_db):
    _, store, _ = suite_db
    board = leaderboard.build(store, StatsConfig(bootstrap_samples=200), suite="t")
    rows = {row.strategy: row for row in board.rows}
    assert list(rows)[0] == "baseline" and len(rows) == 5 and not board.excluded
    assert rows["baseline"].time_reduction == 0 and rows["baseline"].metric("mrr").delta == 0
    assert rows["zero-shot"].time_reduction == 1.0
    for row in rows.values():
        assert row.seeds == [0, 1] and row.runs == 2
        mrr = row.metric("mrr")
        assert mrr.ci.lo <= mrr.mean <= mrr.ci.hi
    data = json.loads(report.render(board, "json"))
    required = {"strategy", "params", "task", "model", "device", "runs", "train_seconds", "time_reduction",
                "device_hours", "samples_per_second", "trainable_params", "layers", "mrr", "recall_at_1",
                "recall_at_3", "recall_at_5", "intent_recall_at_1", "intent_recall_at_3", "test_pairs", "seeds",
                "time_reduction_ci", "verdict", "headline_metric", "time_to_target_seconds",
                "time_to_target_reduction", "ideal_speedup", "measured_speedup", "efficiency",
                "mrr_ci", "mrr_delta", "mrr_delta_ci"}
    assert all(required <= set(obj) for obj in data)
    text = report.render(board, "table")
    assert "layer-drop(count=2)" in text and "baseline" in text


def test_runs_with_other_settings_are_excluded_with_a_reason(suite_db, tmp_path):
    config, store, task_dir = suite_db
    other = suite_config(task_dir, seeds=(0,), strategies=["layer-drop:count=3"], learning_rate=5e-4)
    run_suite(SuiteRun(other, other.suite("t"), store, show_progress=False))
    board = leaderboard.build(store, StatsConfig(bootstrap_samples=100), suite="t")
    assert any("settings differ" in e.reason for e in board.excluded)
    assert all(row.strategy != "layer-drop(count=3)" for row in board.rows)


def test_data_fractions_are_grouped_with_their_own_baseline(tmp_path):
    from bench.tasks.toy import write_task

    config = suite_config(write_task(tmp_path / "task"), seeds=(0,), strategies=["baseline", "layer-freeze:count=2"],
                          epochs=1.0)
    suite = dataclasses.replace(config.suite("t"), train_fractions=(0.5, 1.0))
    store = Store(f"sqlite:///{tmp_path}/fractions.db")
    run_suite(SuiteRun(config, suite, store, show_progress=False))
    board = leaderboard.build(store, StatsConfig(bootstrap_samples=100), suite="t")
    cells = {(row.train_fraction, row.strategy): row for row in board.rows}
    assert set(cells) == {(f, s) for f in (0.5, 1.0) for s in ("baseline", "layer-freeze(count=2)")}
    half, full = (next(r for r in store.runs() if r.train_fraction == f and r.strategy == "baseline")
                  for f in (0.5, 1.0))
    assert half.train_pairs == 120 and full.train_pairs == 240 and half.test_pairs == full.test_pairs
    assert cells[(0.5, "baseline")].time_reduction == 0 and cells[(1.0, "baseline")].time_reduction == 0


def test_a_strategy_that_does_not_train_is_evaluated_once_per_model_and_fraction(suite_db, tmp_path):
    config, store, task_dir = suite_db
    zero = {run.seed: run for run in store.runs(strategy="zero-shot")}
    assert sorted(zero) == [0, 1]
    first, second = zero[0], zero[1]
    assert second.environment["evaluation_of"] == first.id and second.eval_seconds == 0.0
    assert "evaluation_of" not in first.environment and first.eval_seconds > 0
    alone = Store(f"sqlite:///{tmp_path}/alone.db")  # seed 1 on its own: evaluated, not reused
    single = suite_config(task_dir, seeds=(1,), strategies=["zero-shot"])
    run_suite(SuiteRun(single, single.suite("t"), alone, show_progress=False))
    (own,) = alone.runs()
    assert "evaluation_of" not in own.environment and own.eval_seconds > 0
    assert own.metrics() == second.metrics() == first.metrics()
    assert all((alone.ranks([own.id])[own.id][i] == store.ranks([second.id])[second.id][i]).all() for i in (0, 1))


def test_train_sizes_are_data_points_with_their_own_baseline_and_a_data_size_table(tmp_path):
    from bench.errors import BenchError
    from bench.render import ablations
    from bench.tasks.toy import write_task

    config = suite_config(write_task(tmp_path / "task"), seeds=(0, 1), strategies=["baseline", "layer-freeze:count=2"],
                          epochs=1.0)
    suite = dataclasses.replace(config.suite("t"), train_sizes=(48, 192))
    store = Store(f"sqlite:///{tmp_path}/sizes.db")
    run_suite(SuiteRun(config, suite, store, show_progress=False))
    assert sorted({(run.strategy, run.train_pairs) for run in store.runs()}) == [
        ("baseline", 48), ("baseline", 192), ("layer-freeze", 48), ("layer-freeze", 192)]
    board = leaderboard.build(store, StatsConfig(bootstrap_samples=100), suite="t")
    assert sorted((row.train_pairs, row.strategy) for row in board.rows) == [
        (48, "baseline"), (48, "layer-freeze(count=2)"), (192, "baseline"), (192, "layer-freeze(count=2)")]
    table = ablations.data_size(board)
    header, rule, line = table.splitlines()[1:4]
    assert header.split()[:5] == ["strategy", "48", "pairs", "192", "pairs"] and set(rule) <= {"-", " "}
    frozen = {row.train_pairs: row for row in board.rows if row.strategy == "layer-freeze(count=2)"}
    assert line.startswith("layer-freeze(count=2)")
    assert all(f"{frozen[n].headline.delta:+.3f}" in line and frozen[n].verdict in line for n in (48, 192))
    assert "By training-set size:" in report.render(board, "table")
    from bench.analysis.planning import Schedule, plan_board

    assert sorted(plan.strategy for plan in plan_board(board.rows, 0.01, Schedule(2, 0.95))) == [
        "layer-freeze(count=2) @ 192 pairs", "layer-freeze(count=2) @ 48 pairs"]  # each size named in a plan
    with pytest.raises(BenchError, match="more than it has"):
        run_suite(SuiteRun(config, dataclasses.replace(suite, train_sizes=(48, 10_000)), store, show_progress=False))
    with pytest.raises(BenchError, match="both train_sizes and train_fractions"):
        dataclasses.replace(suite, train_fractions=(0.5,))


def test_several_models_get_a_side_by_side_table_of_verdicts(tmp_path):
    from bench.render import ablations
    from bench.tasks.toy import write_task
    from tests.support.models import TINY as TWO_LAYERS

    config = suite_config(write_task(tmp_path / "task"), seeds=(0, 1),
                          strategies=["baseline", "layer-drop:fraction=0.5"], epochs=1.0)
    suite = dataclasses.replace(config.suite("t"), models=(TWO_LAYERS, TINY))
    store = Store(f"sqlite:///{tmp_path}/models.db")
    run_suite(SuiteRun(config, suite, store, show_progress=False))
    assert sorted((run.model, run.layers) for run in store.runs(strategy="layer-drop")) == [
        (TWO_LAYERS, 1), (TWO_LAYERS, 1), (TINY, 2), (TINY, 2)]  # half the depth of each
    board = leaderboard.build(store, StatsConfig(bootstrap_samples=100), suite="t")
    header, _, line = ablations.by_model(board).splitlines()[1:4]
    assert header.split() == ["strategy", TWO_LAYERS, TINY]
    rows = {row.model: row for row in board.rows if row.strategy == "layer-drop(fraction=0.5)"}
    assert line.startswith("layer-drop(fraction=0.5)")
    assert all(f"{rows[m].headline.delta:+.3f}" in line and rows[m].verdict in line for m in (TWO_LAYERS, TINY))
