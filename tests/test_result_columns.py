"""Every result column of the catalogue (bench.results.columns) is filled by a real run and reaches where it says it
goes: the leaderboard's JSON rows, the report table, the MLflow export and the dashboard's frames. Generic over the
catalogue, so a column added there (and filled where a run's results are produced) is checked without a new test.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from bench.analysis import leaderboard
from bench.analysis.leaderboard import CELL
from bench.config import StatsConfig, config_from_dict
from bench.render import tables as report
from bench.results import columns
from bench.results.store import Store
from bench.suite.runner import SuiteRun, run_suite
from bench.tasks.toy import write_task
from dashboard import data, views
from tests.support.suites import small_suite


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """A real tiny suite (one seed, baseline and one strategy): its store, its board and its completed runs."""
    folder = tmp_path_factory.mktemp("columns")
    config = config_from_dict(small_suite(write_task(folder / "task", train=64, test=20, dev=10), seeds=1,
                                          strategies=["baseline", "layer-freeze:count=1"],
                                          train={"epochs": 1.0, "dev_eval_pairs": 10}))
    store = Store(f"sqlite:///{folder}/results.db")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False))
    finally:
        torch.set_num_threads(threads)
    board = leaderboard.build(store, StatsConfig(bootstrap_samples=100), suite="t")
    return store, board, store.runs(status="completed", suite="t")


def _taken(column: columns.Column, values: list):
    """What the row should hold: the seeds' values taken the column's declared way."""
    present = [value for value in values if value is not None]
    if column.row == "max":
        return max(value or 0 for value in values)
    if column.row == "mean":
        return float(np.mean(present)) if present else None
    return values[0]


def test_the_catalogue_is_well_formed():
    assert len(set(columns.NAMES)) == len(columns.NAMES)
    for export in ("table", "dashboard", "mlflow"):
        names = [getattr(column, export) for column in columns.DECLARED if getattr(column, export)]
        assert len(set(names)) == len(names), export
    assert all(column.kind is not str for column in columns.MLFLOW)  # MLflow metrics are numbers


def test_a_real_run_fills_every_column(stored):
    _, _, runs = stored
    baseline = next(run for run in runs if run.strategy == "baseline")
    assert {name: getattr(baseline, name) for name in columns.NAMES if getattr(baseline, name) is None} == {}


def test_every_row_column_reaches_the_json_rows_and_the_report_table(stored):
    _, board, runs = stored
    exported = json.loads(report.render(board, "json"))
    cells = report.display_rows(board)
    for row, out, shown in zip(board.rows, exported, cells, strict=True):
        mine = [run for run in runs if run.label == row.strategy]
        for column in columns.ON_ROW:
            assert column.name in out and out[column.name] == getattr(row, column.name), column.name
            if column.row != "own":
                assert out[column.name] == pytest.approx(_taken(column, [getattr(r, column.name) for r in mine]))
        for column in columns.ON_ROW:
            if column.table and column.name != "energy_joules":  # energy is shown with its source
                assert shown[column.table] == column.show(getattr(row, column.name)), column.name


def test_every_mlflow_column_reaches_the_mlflow_export(stored):
    pytest.importorskip("mlflow", reason="MLflow is an optional extra: pip install -e '.[mlflow]'")
    from bench.results.to_mlflow import _metrics

    _, _, runs = stored
    for run in runs:
        logged = {metric.key: metric.value for metric in _metrics(run, [], 0)}
        for column in columns.MLFLOW:
            if getattr(run, column.name) is not None:
                assert logged[column.mlflow] == pytest.approx(getattr(run, column.name)), column.name


def test_every_dashboard_column_reaches_the_dashboards_frames(stored):
    store, board, runs = stored
    frame = views.leaderboard_frame(board.rows)
    for column in columns.ON_ROW:
        if column.dashboard:
            assert frame[column.dashboard].tolist() == [getattr(row, column.name) for row in board.rows]
    records = data.cell_runs(store, {key: getattr(runs[0], key) for key in CELL})
    details = views.details_frame(records)
    by_id = {run.id: run for run in runs}
    for column in columns.DECLARED:
        if column.record:
            assert [record[column.name] for record in records] == [
                getattr(by_id[record["run_id"]], column.name) for record in records], column.name
            assert column.name in details.columns
