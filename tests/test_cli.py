"""Bad input gives one line on stderr, exit 2, no traceback, and nothing half-written in the database."""

import json
import sqlite3
from pathlib import Path

import pytest

from bench.tasks.toy import write_task
from tests.support.cli import assert_user_error, bench
from tests.support.models import TINY


def run_count(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
        return conn.execute("select count(*) from runs").fetchone()[0] if "runs" in tables else 0


@pytest.fixture
def small_task(tmp_path: Path) -> Path:
    return write_task(tmp_path / "task", train=64, test=20, dev=10)


def run_args(task: Path, db: Path, *extra: str) -> list[str]:
    return ["run", "--task", str(task), "--model", TINY, "--db", f"sqlite:///{db}", "--seeds", "1",
            "--epochs", "1", "--quiet", *extra]


def test_bad_config_key(tmp_path, small_task):
    config = tmp_path / "bench.toml"
    config.write_text("[train]\nbatch_sise = 4\n")
    db = tmp_path / "r.db"
    result = bench("--config", str(config), *run_args(small_task, db))
    assert_user_error(result, "unknown key 'batch_sise' in train", "did you mean 'batch_size'")
    assert run_count(db) == 0


@pytest.mark.slow
def test_unknown_strategy_and_task(tmp_path, small_task):
    db = tmp_path / "r.db"
    assert_user_error(bench(*run_args(small_task, db, "--strategy", "layer-dorp")),
                      "unknown strategy 'layer-dorp'", "did you mean 'layer-drop'")
    assert_user_error(bench("run", "--task", "emial", "--db", f"sqlite:///{db}"), "unknown task 'emial'",
                      "did you mean 'email'")
    assert_user_error(bench(*run_args(small_task, db, "--strategy", "layer-drop:cnt=2")),
                      "has no parameter 'cnt'")
    assert run_count(db) == 0


@pytest.mark.slow
def test_missing_model(tmp_path, small_task):
    db = tmp_path / "r.db"
    result = bench(*run_args(small_task, db)[:3], "--model", str(tmp_path / "no-model"), "--db",
                   f"sqlite:///{db}", "--quiet")
    assert_user_error(result, "no-model", "not found")
    assert run_count(db) == 0


@pytest.mark.slow
def test_malformed_data_line_names_file_and_line(tmp_path, small_task):
    with (small_task / "test.jsonl").open("a") as out:
        out.write('{"message": "hi", "reply": }\n')
    db = tmp_path / "r.db"
    assert_user_error(bench(*run_args(small_task, db)), "test.jsonl:21: not valid JSON")
    assert run_count(db) == 0


@pytest.mark.slow
def test_unwritable_database(tmp_path, small_task):
    folder_as_file = tmp_path / "a-folder"
    folder_as_file.mkdir()
    assert_user_error(bench(*run_args(small_task, folder_as_file)), "database")
    assert_user_error(bench(*run_args(small_task, tmp_path / "missing" / "r.db")), "does not exist")
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("create table customers (id int)")
    assert_user_error(bench(*run_args(small_task, foreign)), "tables that are not bench's")
    with sqlite3.connect(foreign) as conn:
        assert conn.execute("select name from sqlite_master").fetchall() == [("customers",)]


def test_usage_errors_are_one_line(tmp_path):
    assert_user_error(bench("run", "--seeds", "zero"), "--seeds")
    assert_user_error(bench("frobnicate"), "invalid choice")
    assert_user_error(bench("report", "--db", f"sqlite:///{tmp_path}/none.db"), "does not exist")


@pytest.mark.slow
def test_run_then_report_json(tmp_path, small_task):
    db = tmp_path / "r.db"
    result = bench(*run_args(small_task, db, "--strategy", "layer-freeze:count=1"))
    assert result.returncode == 0, result.stderr
    assert "layer-freeze(count=1)" in result.stdout and "total wall time" in result.stdout
    rows = {row["strategy"]: row for row in json.loads(bench("report", "--db", f"sqlite:///{db}", "--format",
                                                             "json").stdout)}
    control = "equal-time(matches=layer-freeze(count=1))"  # the default suite runs its equal-time controls
    assert sorted(rows) == ["baseline", control, "layer-freeze(count=1)"]
    assert rows["layer-freeze(count=1)"]["trainable_params"] < rows["baseline"]["trainable_params"]
    assert rows["layer-freeze(count=1)"]["equal_time_verdict"] is not None
    assert run_count(db) == 3


@pytest.mark.slow
def test_list_shows_strategies_tasks_and_suites():
    result = bench("list")
    assert result.returncode == 0
    for name in ("zero-shot", "baseline", "layer-drop", "layer-freeze", "drop-freeze", "email", "sgd", "default"):
        assert name in result.stdout
