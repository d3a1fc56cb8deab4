"""The store on a real PostgreSQL server: a suite runs into it, report/check/export and the dashboard's reads work
on it, and a read-only store (the dashboard's, report's) cannot write."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from bench.analysis import leaderboard
from bench.config import StatsConfig, config_from_dict
from bench.errors import BenchError
from bench.results.identity import RunIdentity
from bench.results.models import Run
from bench.results.store import Store
from bench.suite.runner import SuiteRun, run_suite
from bench.tasks.toy import write_task
from dashboard import data
from tests.support.cli import bench
from tests.support.suites import small_suite, write_config


@pytest.fixture(scope="module")
def pg_suite(tmp_path_factory, pg_server):
    """Suite `t` (three strategies, two seeds) run once into a fresh database; its URL and bench.toml."""
    folder = tmp_path_factory.mktemp("pg")
    task = write_task(folder / "task", train=64, test=20, dev=10)
    document = small_suite(task, strategies=["zero-shot", "baseline", "layer-drop:count=1"],
                           check={"max_relevance_loss": 0.5})
    config = write_config(folder / "bench.toml", document)
    url = pg_server.new_database()
    loaded = config_from_dict(document)
    run_suite(SuiteRun(loaded, loaded.suite("t"), Store(url), show_progress=False))
    return url, config


@pytest.mark.slow
def test_report_check_and_export_read_postgresql(pg_suite, tmp_path):
    url, config = pg_suite
    report = bench("report", "--suite", "t", "--db", url, "--format", "json", config=config)
    assert report.returncode == 0, report.stderr
    assert [row["strategy"] for row in json.loads(report.stdout)] == ["baseline", "layer-drop(count=1)", "zero-shot"]
    check = bench("check", "--suite", "t", "--db", url, config=config)
    assert check.returncode in (0, 1) and "checks" in check.stdout, check.stderr
    out = tmp_path / "export.json"
    export = bench("export", "--suite", "t", "--db", url, "--out", str(out), config=config)
    assert export.returncode == 0 and len(json.loads(out.read_text())) == 3


def test_the_dashboards_reads_work_and_a_read_only_store_cannot_write(pg_suite):
    url, _ = pg_suite
    reader = data.open_store(url)
    index = data.run_index(reader)
    assert len(index) == 6
    board = data.load_board(reader, StatsConfig(bootstrap_samples=100), "baseline", data.default_selection(index))
    assert [row.strategy for row in board.rows] == [row.strategy for row in leaderboard.build(
        Store(url), StatsConfig(bootstrap_samples=100), "baseline", suite="t").rows]
    run = reader.runs()[0]
    identity = RunIdentity(**{name: getattr(run, name) for name in RunIdentity.__dataclass_fields__})
    with pytest.raises(BenchError, match="opened read-only"):
        reader.start_run(identity)
    with pytest.raises(BenchError, match="read-only transaction"):  # and the server itself refuses
        with reader.session() as session:
            session.execute(update(Run).values(error="written by a reader"))
    assert len(Store(url).runs(status=None)) == 6 and not any(r.error for r in Store(url).runs(status=None))
