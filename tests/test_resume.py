"""Nothing lost: a run killed with kill -9 is seen as abandoned, and rerunning the suite skips what is done and
gives the same leaderboard as an uninterrupted suite."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bench.config import config_from_dict
from bench.errors import BenchError
from bench.results import liveness
from bench.results.store import Store
from bench.suite.runner import SuiteRun, run_suite
from bench.tasks.toy import write_task
from tests.support.cli import bench_process, wait_for
from tests.support.suites import small_suite, worker_suite, write_config

RELEVANCE = ("mrr", "recall_at_1", "recall_at_3", "recall_at_5", "intent_recall_at_1", "intent_recall_at_3")


def rows(db: Path, query: str) -> list[tuple]:
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
        return conn.execute(query).fetchall() if "runs" in tables else []


def leaderboard_relevance(config: Path, db: Path) -> dict:
    process = bench_process("report", "--suite", "t", "--db", f"sqlite:///{db}", "--format", "json", config=config)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return {row["strategy"]: {key: row[key] for key in row if key.split("_ci")[0].split("_delta")[0] in RELEVANCE
                              or key in ("verdict", "seeds")} for row in json.loads(out)}


@pytest.mark.slow
def test_kill_9_mid_suite_then_resume_gives_the_uninterrupted_leaderboard(tmp_path):
    config = write_config(tmp_path / "bench.toml", worker_suite(write_task(tmp_path / "task")))
    killed, whole = tmp_path / "killed.db", tmp_path / "whole.db"
    run = ("run", "--suite", "t", "--quiet")

    victim = bench_process(*run, "--db", f"sqlite:///{killed}", config=config)
    wait_for(lambda: len(rows(killed, "select id from runs where status = 'completed'")) >= 2
             and rows(killed, "select id from runs where status = 'running'"), what="2 runs done and one running")
    os.kill(victim.pid, signal.SIGKILL)
    victim.communicate(timeout=60)
    done = len(rows(killed, "select id from runs where status = 'completed'"))
    assert rows(killed, "select status from runs where status = 'running'") == [("running",)]

    report = bench_process("report", "--suite", "t", "--db", f"sqlite:///{killed}", config=config)
    out, _ = report.communicate(timeout=300)
    assert "abandoned run" in out  # its process is gone: never shown as running for ever

    resumed = bench_process(*run, "--db", f"sqlite:///{killed}", config=config)
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err
    assert f"{done} of 6 cells already done; running {6 - done}" in err
    statuses = rows(killed, "select status, count(*) from runs group by status")
    assert dict(statuses) == {"completed": 6, "abandoned": 1}
    per_cell = rows(killed, "select config_hash, count(*) from runs where status = 'completed' group by config_hash")
    assert len(per_cell) == 6 and {count for _, count in per_cell} == {1}

    uninterrupted = bench_process(*run, "--db", f"sqlite:///{whole}", config=config)
    _, err = uninterrupted.communicate(timeout=600)
    assert uninterrupted.returncode == 0, err
    assert leaderboard_relevance(config, killed) == leaderboard_relevance(config, whole)


@pytest.fixture
def one_seed(tmp_path):
    config = config_from_dict(small_suite(write_task(tmp_path / "task", train=64, test=20, dev=10), seeds=1))
    return config, Store(f"sqlite:///{tmp_path}/r.db")


def test_a_rerun_skips_done_cells_and_rerun_flag_runs_them_again(one_seed):
    config, store = one_seed
    said: list[str] = []
    assert len(run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False, announce=said.append))) == 2
    assert run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False, announce=said.append)) == []
    assert "2 of 2 cells already done; running 0" in said[-1]
    assert len(run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False, rerun=True))) == 2
    assert len(store.runs()) == 4


def test_a_run_whose_process_is_gone_or_silent_is_abandoned_and_its_cell_is_free(one_seed):
    config, store = one_seed
    run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False))
    template = store.runs()[0]
    identity = _identity_of(template)
    live = store.start_run(identity)  # this process: alive, fresh heartbeat
    limit = timedelta(seconds=60)
    assert [state for run, state in store.unfinished(limit) if run.id == live] == ["running"]
    assert store.claim(identity, limit, rerun=True) is None  # a live run holds the cell
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _set(store, live, pid=int(dead.stdout))  # same host, process gone
    assert [state for run, state in store.unfinished(limit) if run.id == live] == ["abandoned"]
    taken = store.claim(identity, limit, rerun=True)
    assert taken is not None and {r.id: r.status for r in store.runs(status=None)}[live] == "abandoned"
    _set(store, taken, heartbeat_at=datetime(2020, 1, 1))  # alive process, but silent for years
    assert [state for run, state in store.unfinished(limit) if run.id == taken] == ["abandoned"]


def test_heartbeat_beats_each_interval_until_stopped_and_survives_a_failed_beat():
    """A fake clock: each wait is one interval passing, until the fourth, which waits for the stop (no sleeping)."""
    waits: list[float] = []
    beats: list[int] = []
    waiting_for_stop = threading.Event()

    def beat() -> None:
        beats.append(len(waits))
        if len(beats) == 2:
            raise BenchError("database is locked")  # retried at the next interval, the thread lives on

    def wait(stop: threading.Event, seconds: float) -> bool:
        waits.append(seconds)
        if len(waits) == 4:
            waiting_for_stop.set()
            stop.wait()
        return stop.is_set()

    with liveness.Heartbeat(beat, interval=30.0, wait=wait):
        assert waiting_for_stop.wait(timeout=60)  # a safety net against a hang, not a timing claim
    assert beats == [1, 2, 3] and waits == [30.0] * 4  # one beat per interval passed, none once stopped


def test_process_alive():
    assert liveness.process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not liveness.process_alive(child.pid)


def _identity_of(run):
    from bench.results.identity import RunIdentity

    return RunIdentity(**{name: getattr(run, name) for name in RunIdentity.__dataclass_fields__})


def _set(store: Store, run_id: str, **values) -> None:
    from sqlalchemy import update

    from bench.results.models import Run

    with store.session(write=True) as session:
        session.execute(update(Run).where(Run.id == run_id).values(**values))
