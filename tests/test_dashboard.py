"""The dashboard (Streamlit AppTest, no browser): its numbers are bench's leaderboard, its edge cases are friendly."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from bench.analysis import leaderboard, stats
from bench.analysis.rows import Interval
from bench.errors import BenchError
from bench.metrics import METRICS, per_query
from bench.results.store import Store
from dashboard import data, views
from tests.support.cli import ROOT
from tests.support.stored import MODEL, STATS, add_run, make_db


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> str:
    return make_db(tmp_path_factory.mktemp("dash") / "results.db")


def frame_with(at: AppTest, column: str, without: str = "settings_hash"):
    """The first table that has `column` (and not `without`; run details have every column)."""
    return next(df.value for df in at.dataframe if column in df.value.columns and without not in df.value.columns)


def expected_board(url: str, baseline: str = "baseline", fraction: float = 1.0) -> leaderboard.Leaderboard:
    return leaderboard.build(Store(url, read_only=True), STATS, baseline, suite="t", task="toy", model=MODEL,
                             train_fraction=fraction, device_type="cpu")


def assert_table_matches(table, board: leaderboard.Leaderboard) -> None:
    assert table["strategy"].tolist() == [row.strategy for row in board.rows]
    for shown, row in zip(table.to_dict("records"), board.rows, strict=True):
        assert shown["verdict"] == row.verdict
        assert shown["seeds"] == row.runs
        assert shown["time reduction"] == pytest.approx(row.time_reduction)
        assert shown["time reduction CI"] == views.ci_text(row.time_reduction_ci, percent=True)
        assert shown["device-hours"] == pytest.approx(row.device_hours)
        for column, value in (("energy J", row.energy_joules), ("energy reduction", row.energy_reduction),
                              ("energy to target J", row.energy_to_target_joules)):
            if value is None:
                assert shown[column] is None or shown[column] != shown[column]  # None or NaN: not measured
            else:
                assert shown[column] == pytest.approx(value)
        assert shown["MRR (headline)"] == pytest.approx(row.metric("mrr").mean)
        for metric in METRICS:
            assert shown[views.delta_column(metric)] == pytest.approx(row.metric(metric).delta, abs=1e-12)
            assert shown[f"{views.delta_column(metric)} CI"] == views.ci_text(row.metric(metric).delta_ci)


def test_leaderboard_table_is_bench_leaderboard_for_the_newest_cell(app, db):
    at = app(db)
    chosen = {box.label: box.value for box in at.sidebar.selectbox}
    assert chosen == {"Suite": "t", "Task": "toy", "Model": MODEL, "Training-data fraction": 1.0, "Device": "cpu",
                      "Devices (ranks)": 1, "Baseline strategy": "baseline"}
    board = expected_board(db)
    assert len(board.rows) == 4 and not board.excluded
    table = at.dataframe[0].value
    assert_table_matches(table, board)
    verdicts = dict(zip(table["strategy"], table["verdict"], strict=True))
    assert verdicts["baseline"] == "baseline" and verdicts["zero-shot"] in ("inferior", "inconclusive")
    assert [b.label for b in at.download_button] == ["Download leaderboard (CSV)"]
    assert [h.value for h in at.header] == ["Leaderboard", "Time saved against relevance lost",
                                            "Relevance cost against training-set size", "Relevance over training time",
                                            "Run details", "Runs in progress or failed"]


def test_the_data_size_view_is_each_size_against_its_own_baseline(app, db):
    store = Store(db, read_only=True)
    selection = {"suite": "t", "task": "toy", "model": MODEL, "train_fraction": 1.0, "device_type": "cpu"}
    frame = views.size_frame(data.size_board(store, STATS, "baseline", selection).rows)
    for fraction in (0.5, 1.0):
        board = expected_board(db, fraction=fraction)
        for row in board.rows[1:]:
            shown = frame[(frame["strategy"] == row.strategy) & (frame["train_pairs"] == row.train_pairs)]
            assert len(shown) == 1 and shown["delta"].item() == pytest.approx(row.headline.delta)
            assert shown["verdict"].item() == row.verdict
    assert set(frame["strategy"]) == {"zero-shot", "layer-freeze", "layer-drop(count=2)", "layer-freeze(count=2)"}
    one_size = data.size_board(store, STATS, "baseline", {**selection, "suite": "no-such-suite"})
    assert not one_size.rows  # nothing to plot against size
    spec = views.size_chart(frame, 0.01).to_dict()
    assert len(spec["vconcat"]) == 2


def test_changing_filters_and_baseline_recomputes_the_table(app, db):
    at = app(db)
    fraction = next(box for box in at.sidebar.selectbox if box.label == "Training-data fraction")
    fraction.set_value(0.5).run()
    assert not at.exception
    assert_table_matches(at.dataframe[0].value, expected_board(db, fraction=0.5))
    assert at.dataframe[0].value["strategy"].tolist() == ["baseline", "layer-freeze", "zero-shot"]
    baseline = next(box for box in at.sidebar.selectbox if box.label == "Baseline strategy")
    assert baseline.options == ["baseline", "layer-freeze"]  # zero-shot never trains: no time to compare with
    baseline.set_value("layer-freeze").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert_table_matches(table, expected_board(db, baseline="layer-freeze", fraction=0.5))
    assert table["strategy"].tolist()[0] == "layer-freeze" and table["verdict"].tolist()[0] == "baseline"


def test_running_and_failed_runs_are_listed_apart_from_the_leaderboard(app, db):
    at = app(db)
    unfinished = frame_with(at, "status")
    assert sorted(zip(unfinished["status"], unfinished["strategy"], strict=True)) == [
        ("failed", "layer-freeze(count=3)"), ("running", "layer-drop(count=3)")]
    assert "out of memory" in unfinished.loc[unfinished["status"] == "failed", "error"].iloc[0]
    assert not {"layer-drop(count=3)", "layer-freeze(count=3)"} & set(at.dataframe[0].value["strategy"])
    details = frame_with(at, "settings_hash", without="-")
    assert set(details["status"]) == {"completed"} and len(details) == 8


def test_run_details_show_fingerprint_environment_and_the_config_difference(app, db):
    at = app(db)
    details = frame_with(at, "settings_hash", without="-")
    for column in ("params", "seed", "mrr", "task_hash", "model_hash", "settings_hash", "hardware_hash",
                   "config_hash", "env.python", "env.torch", "git_commit"):
        assert column in details.columns
    box = next(b for b in at.selectbox if b.label == "Configuration difference from the baseline")
    box.set_value("layer-drop(count=2)").run()
    diff = frame_with(at, "setting")
    assert dict(zip(diff["setting"], diff["strategy"], strict=True)) == {"params.count": "2", "strategy": "layer-drop"}
    assert diff.loc[diff["setting"] == "strategy", "baseline"].iloc[0] == "baseline"


def test_a_new_run_shows_up_on_the_next_rerun(app, tmp_path):
    url = make_db(tmp_path / "grow.db")
    at = app(url)
    assert "layer-drop(count=1)" not in set(at.dataframe[0].value["strategy"])
    store = Store(url)
    for seed in (0, 1):
        add_run(store, "layer-drop", {"count": 1}, seed, 25.0, 1.01)
    at.run()
    assert "layer-drop(count=1)" in set(at.dataframe[0].value["strategy"])


def test_missing_database_names_the_command_and_is_not_created(app, tmp_path):
    path = tmp_path / "nothing.db"
    at = app(f"sqlite:///{path}")
    text = " ".join(e.value for e in [*at.info, *at.warning])
    assert "python -m bench run" in text and "does not exist" in text
    assert not at.dataframe and not at.error
    assert not path.exists()


def test_empty_database_and_one_with_only_unfinished_runs(app, tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    Store(empty)
    at = app(empty)
    assert any("python -m bench run" in e.value for e in at.info) and not at.dataframe
    store = Store(f"sqlite:///{tmp_path / 'busy.db'}")
    add_run(store, "baseline", {}, 0, 0, 1, status="running")
    at = app(store.url)
    assert any("python -m bench run" in e.value for e in at.info)
    assert frame_with(at, "status")["status"].tolist() == ["running"]


def test_views_pareto_front_and_intervals():
    assert views.pareto_front([0.0, 0.3, 0.5, 1.0, 0.2], [0.0, 0.0, -0.02, -0.1, -0.05]) == [
        False, True, True, True, False]
    assert views.ci_text(None) == "" and views.ci_text(Interval(-0.0123, 0.004)) == "[-0.012, +0.004]"
    assert views.ci_text(Interval(0.25, 0.5), percent=True) == "[+25.0%, +50.0%]"


def test_pareto_and_curve_data_come_from_the_leaderboard_and_the_recorded_curves(db):
    board = expected_board(db)
    frame = views.pareto_frame(board.rows)
    assert frame["delta"].tolist() == [row.metric("mrr").delta for row in board.rows]
    assert frame["time_reduction"].tolist() == [row.time_reduction for row in board.rows]
    assert frame.loc[frame["strategy"] == "zero-shot", "frontier"].item()  # the fastest is always on it
    views.pareto_chart(frame, STATS.margin).to_dict()  # a valid Vega-Lite spec
    store = Store(db, read_only=True)
    selection = {"suite": "t", "task": "toy", "model": MODEL, "train_fraction": 1.0, "device_type": "cpu"}
    curves = data.strategy_curves(store, board, data.run_index(store), selection)
    assert sorted(set(curves["strategy"])) == sorted(row.strategy for row in board.rows)
    base = curves[curves["strategy"] == "baseline"].sort_values("step").groupby("seed")["headline"].last()
    assert views.curve_target(curves, "baseline", 0.99) == pytest.approx(0.99 * base.mean())
    views.curve_chart(curves, 0.3, "MRR").to_dict()


def test_leaderboard_intervals_equal_the_per_metric_statistics(db):
    """The leaderboard draws the bootstrap once per cell; the numbers must be stats' own, per metric: means from
    the two-level bootstrap, paired differences from the two-way t interval."""
    store = Store(db, read_only=True)
    board = expected_board(db)
    runs = {(r.label, r.seed): r for r in store.runs(suite="t", train_fraction=1.0)}
    ranks = store.ranks([r.id for r in runs.values()])
    for row in board.rows:
        for metric in METRICS:
            ours = np.stack([per_query(*ranks[runs[(row.strategy, s)].id])[metric] for s in row.seeds])
            base = np.stack([per_query(*ranks[runs[("baseline", s)].id])[metric] for s in row.seeds])
            mean, lo, hi = stats.bootstrap_mean_ci(ours, STATS.bootstrap_samples, STATS.bootstrap_seed,
                                                   STATS.confidence)
            delta, dlo, dhi = stats.paired_delta_ci(ours - base, STATS.confidence)
            result = row.metric(metric)
            assert (result.mean, result.ci.lo, result.ci.hi) == pytest.approx((mean, lo, hi), abs=1e-12)
            assert (result.delta, result.delta_ci.lo, result.delta_ci.hi) == pytest.approx((delta, dlo, dhi),
                                                                                         abs=1e-12)


def test_dashboard_reads_only_through_the_store():
    for path in (ROOT / "dashboard").glob("*.py"):
        source = path.read_text()
        assert not re.search(r"\b(SELECT|INSERT|UPDATE|DELETE)\s", source), path
        assert "sqlalchemy" not in source and "sqlite3" not in source, path


def test_launcher_command_and_missing_streamlit(monkeypatch):
    from bench.cli import dashboard as dashboard_launcher

    cmd = dashboard_launcher.command("sqlite:///r.db", "127.0.0.1", 8765)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("dashboard/app.py")
    assert cmd[cmd.index("--server.address") + 1] == "127.0.0.1" and cmd[cmd.index("--server.port") + 1] == "8765"
    assert cmd[cmd.index("--server.headless") + 1] == "true"
    assert cmd[cmd.index("--browser.gatherUsageStats") + 1] == "false"
    assert cmd[-3:] == ["--", "--db", "sqlite:///r.db"]
    monkeypatch.setattr(dashboard_launcher.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BenchError, match="streamlit") as err:
        dashboard_launcher.launch("sqlite:///r.db")
    assert "\n" not in str(err.value)


def test_a_run_drills_down_to_its_seeds_step_trace_ledger_and_fingerprints(app, tmp_path):
    url = f"sqlite:///{tmp_path}/drill.db"
    store = Store(url)
    burst = [1.0] * 10
    burst[4] = 6.0  # background load on the strategy's seed 0 only
    run_ids = {}
    for seed in (0, 1):
        add_run(store, "baseline", {}, seed, 10.0, 1.0, step_seconds=[1.0] * 10, energy=(200.0, "estimated"))
        steps = burst if seed == 0 else [0.6] * 10
        run_ids[seed] = add_run(store, "layer-drop", {"count": 2}, seed, sum(steps), 1.05, step_seconds=steps,
                                energy=(120.0 + seed, "estimated"))
    records = data.cell_runs(store, {"suite": "t"})
    record = next(r for r in records if r["run_id"] == run_ids[0])
    traces = data.step_traces(store, record, records, "baseline")
    assert set(traces["run"]) == {"layer-drop(count=2) · seed 0", "baseline · seed 0"}
    mine = traces[traces["run"] == "layer-drop(count=2) · seed 0"]["seconds"].tolist()
    assert mine == pytest.approx(burst) and len(traces) == 20

    at = app(url)
    board = expected_board(url)
    assert board.rows[1].energy_reduction is not None  # the leaderboard shows measured energy too
    assert_table_matches(at.dataframe[0].value, board)
    picker = next(box for box in at.selectbox if box.label == "Inspect one run")
    picker.set_value(next(o for o in picker.options if run_ids[0][:8] in o)).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == [f"Run {run_ids[0][:8]}: layer-drop(count=2), seed 0"]
    seeds = next(f.value for f in at.dataframe if {"seed", "energy source"} <= set(f.value.columns))
    assert seeds["seed"].tolist() == [1, 0] and seeds["energy J"].tolist() == [121.0, 120.0]
    fingerprints = next(f.value for f in at.dataframe if "fingerprint" in f.value.columns)
    assert dict(zip(fingerprints["fingerprint"], fingerprints["value"], strict=True))["model_hash"] == "m0"
    assert any("background load" in c.value for c in at.caption)


def _planned(store: Store, suite: str = "t") -> None:
    """The plan a worker stores: 2 strategies x 2 seeds of the stored runs' cell."""
    store.record_plan(suite, [(MODEL, 1.0, seed, label, 1) for seed in (0, 1)
                              for label in ("baseline", "layer-drop(count=2)")])


def test_the_suites_progress_is_bench_status_view(app, tmp_path):
    """One cell done, one held by a live process, one failed, one pending: the counts as `bench status` prints
    them, and the cells not done in a table, running first."""
    store = Store(f"sqlite:///{tmp_path / 'progress.db'}")
    add_run(store, "baseline", {}, 0, 30.0, 1.0)
    add_run(store, "layer-drop", {"count": 2}, 0, 19.0, 1.05, status="running")  # this process: alive
    add_run(store, "baseline", {}, 1, 30.0, 1.0, status="failed")
    _planned(store)
    at = app(store.url)
    assert not at.exception
    assert any(m.value.startswith("**t**: 4 cells: 1 done, 1 running, 1 pending, 1 failed, 0 abandoned")
               for m in at.markdown)
    cells = frame_with(at, "heartbeat_s")
    assert cells["state"].tolist() == ["running", "failed", "pending"]
    assert cells["strategy"].tolist() == ["layer-drop(count=2)", "baseline", "layer-drop(count=2)"]
    assert "out of memory" in cells["error"].iloc[1] and cells["where"].iloc[0].endswith(f":{os.getpid()}")
