"""Many workers on one suite: `bench run --worker` processes claim cells through the database's own transactions,
every cell runs exactly once, and the cell of a worker killed with kill -9 is finished by another."""

from __future__ import annotations

import os
import signal

import pytest
from sqlalchemy import create_engine, text

from bench.results.store import Store
from tests import pgserver
from tests.conftest import write_task
from tests.test_resume import bench, suite_toml, wait_for

WORKERS = 4


def count(url: str, query: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            has_runs = "runs" in conn.dialect.get_table_names(conn)
            return [tuple(row) for row in conn.execute(text(query))] if has_runs else []
    finally:
        engine.dispose()


def run_workers(tmp_path, url: str) -> None:
    config = tmp_path / "bench.toml"
    config.write_text(suite_toml(write_task(tmp_path / "task"), seeds=4, epochs=3.0))
    workers = [bench(config, "run", "--suite", "t", "--quiet", "--worker", "--db", url) for _ in range(WORKERS)]
    pids = {w.pid: w for w in workers}
    running = "select pid from runs where status = 'running'"
    wait_for(lambda: any(pid in pids for (pid,) in count(url, running)), what="a worker holding a cell")
    victim = next(pid for (pid,) in count(url, running) if pid in pids)
    os.kill(victim, signal.SIGKILL)
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.pid == victim or worker.returncode == 0, err
    completed = count(url, "select config_hash, count(*) from runs where status = 'completed' group by config_hash")
    assert len(completed) == 3 * 4 and {n for _, n in completed} == {1}  # every cell exactly once
    assert count(url, "select pid from runs where status = 'abandoned'") == [(victim,)]
    assert count(url, "select count(*) from runs where status not in ('completed', 'abandoned')") == [(0,)]
    survivors = {pid for (pid,) in count(url, "select distinct pid from runs where status = 'completed'")}
    assert victim not in survivors or len(survivors) > 1


def test_four_sqlite_workers_run_every_cell_once_and_take_over_a_killed_one(tmp_path):
    run_workers(tmp_path, f"sqlite:///{tmp_path}/shared.db")


@pytest.mark.skipif(bool(pgserver.unavailable()), reason=pgserver.unavailable() or "PostgreSQL is available")
def test_four_postgresql_workers_run_every_cell_once_and_take_over_a_killed_one(tmp_path):
    with pgserver.postgres_server() as url:
        run_workers(tmp_path, url)


def record_race(url: str) -> None:
    """Two workers that both found no peak and both measured: the second insert keeps the first figure."""
    first, second = Store(url), Store(url)

    def measure_while_another_worker_records() -> float:
        assert second.record_peak_flops("hw", "fp32", "cpu", lambda: 7.0) == 7.0
        return 9.0

    assert first.record_peak_flops("hw", "fp32", "cpu", measure_while_another_worker_records) == 7.0
    assert count(url, "select matmul_flops from hardware_peaks") == [(7.0,)]
    assert Store(url).record_peak_flops("hw", "fp32", "cpu", lambda: pytest.fail("measured twice")) == 7.0


def test_workers_measuring_the_peak_at_once_keep_one_figure_on_sqlite(tmp_path):
    record_race(f"sqlite:///{tmp_path}/r.db")


@pytest.mark.skipif(bool(pgserver.unavailable()), reason=pgserver.unavailable() or "PostgreSQL is available")
def test_workers_measuring_the_peak_at_once_keep_one_figure_on_postgresql():
    with pgserver.postgres_server() as url:
        record_race(url)
