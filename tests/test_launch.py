"""`bench launch`: time limits as sbatch reads them, each task's `bench run` arguments, every bad input refused
before anything is submitted, and a suite launched through submitit's local executor completing with each cell
once. The same on a real single-node Slurm cluster is in tests/test_slurm.py."""

from __future__ import annotations

import argparse

import pytest

from bench.cli.launch import worker_argv
from bench.cluster import timelimit
from bench.errors import BenchError
from bench.tasks.toy import write_task
from tests.support.cli import assert_user_error, bench
from tests.support.stored import count
from tests.support.suites import worker_suite, write_config

CELLS = "select config_hash, count(*) from runs where status = 'completed' group by config_hash"


@pytest.mark.parametrize(("text", "minutes"), [("90", 90), ("1:30", 2), ("0:45", 1), ("1:30:00", 90),
                                               ("2-12", 3600), ("1-0:30", 1470), ("0-0:0:1", 1), (" 15 ", 15)])
def test_time_limits_read_as_sbatch_reads_them(text, minutes):
    assert timelimit.minutes(text) == minutes


@pytest.mark.parametrize("text", ["", "abc", "1h", "0", "0:00:00", "1:2:3:4", "-5", "1.5"])
def test_a_time_limit_that_does_not_parse_is_a_user_error(text):
    with pytest.raises(BenchError, match="is not a time limit"):
        timelimit.minutes(text)


def test_each_task_runs_bench_run_as_a_worker_with_the_same_suite_options(tmp_path):
    args = argparse.Namespace(config=str(tmp_path / "bench.toml"), strategy=["layer-drop:count=3"], seeds=(4,),
                              task=None, model="tiny-bert", max_train_pairs=64, epochs=None, device="cpu",
                              fraction=[0.5, 1.0], controls=False, nproc=None)
    argv = worker_argv(args, "smoke", "postgresql+psycopg://h/db")
    assert argv == ["--config", str(tmp_path / "bench.toml"), "run", "--suite", "smoke", "--db",
                    "postgresql+psycopg://h/db", "--quiet", "--strategy", "layer-drop:count=3", "--seeds", "4,",
                    "--model", "tiny-bert", "--max-train-pairs", "64", "--device", "cpu", "--fraction", "0.5",
                    "1.0", "--no-controls", "--worker"]
    ranks = worker_argv(argparse.Namespace(**{**vars(args), "nproc": 2, "seeds": (0, 1), "controls": None}), "s",
                        "sqlite:////x.db")
    assert ranks[-2:] == ["--nproc", "2"] and "--worker" not in ranks and ranks[ranks.index("--seeds") + 1] == "0,1"


@pytest.fixture
def suite_config(tmp_path):
    return write_config(tmp_path / "bench.toml", worker_suite(write_task(tmp_path / "task"), seeds=2, epochs=1.0))


@pytest.mark.parametrize(("flags", "fragments"), [
    (["--executor", "pbs"], ["invalid choice: 'pbs'"]),
    (["--workers", "0"], ["--workers", "expected a positive whole number"]),
    (["--executor", "local", "--time", "soon"], ["--time 'soon' is not a time limit"]),
    (["--executor", "slurm", "--db", "sqlite:///relative.db"], ["relative SQLite path", "shared filesystem"]),
    (["--executor", "slurm", "--workers", "2", "--db", "sqlite:////tmp/x/shared.db"],
     ["SQLite cannot be shared", "PostgreSQL", "bench db copy"]),
    (["--executor", "local", "--strategy", "no-such-trick"], ["no-such-trick"]),
])
def test_bad_launches_are_one_line_errors_and_submit_nothing(tmp_path, suite_config, flags, fragments):
    result = bench("launch", "--suite", "t", "--folder", str(tmp_path / "jobs"), *flags, config=suite_config,
                   cwd=tmp_path)
    assert_user_error(result, *fragments)
    assert not (tmp_path / "jobs").exists()  # nothing submitted, no job files


@pytest.mark.slow
def test_a_suite_launched_on_the_local_executor_completes_each_cell_once(tmp_path, suite_config):
    db = f"sqlite:///{tmp_path}/shared.db"
    result = bench("launch", "--executor", "local", "--workers", "2", "--cpus-per-task", "1", "--suite", "t",
                   "--db", db, "--folder", str(tmp_path / "jobs"), "--wait", config=suite_config, cwd=tmp_path,
                   timeout=600)
    assert result.returncode == 0, result.stderr
    assert "submitted 2 workers of suite 't' to local" in result.stderr
    assert "total wall time" in result.stdout and "layer-drop(count=1)" in result.stdout  # the board, as bench run
    completed = count(db, CELLS)
    assert len(completed) == 3 * 2 and {n for _, n in completed} == {1}
    assert count(db, "select count(*) from runs where status != 'completed'") == [(0,)]
    assert len({pid for (pid,) in count(db, "select distinct pid from runs")}) >= 1
