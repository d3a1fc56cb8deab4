"""Many workers on one suite: `bench run --worker` processes claim cells through the database's own transactions,
every cell runs exactly once, and the cell of a worker killed with kill -9 is finished by another."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

from bench.results.store import Store
from bench.tasks.toy import write_task
from tests.support.cli import bench_process, wait_for
from tests.support.stored import count
from tests.support.suites import worker_suite, write_config

WORKERS = 4


def run_workers(tmp_path, url: str) -> None:
    config = write_config(tmp_path / "bench.toml", worker_suite(write_task(tmp_path / "task"), seeds=4, epochs=3.0))
    workers = [bench_process("run", "--suite", "t", "--quiet", "--worker", "--db", url, config=config)
               for _ in range(WORKERS)]
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
    assert count(url, "select count(*) from step_prices") == [(1,)]  # timed by one worker, read by the others


@pytest.mark.slow
def test_four_sqlite_workers_run_every_cell_once_and_take_over_a_killed_one(tmp_path):
    run_workers(tmp_path, f"sqlite:///{tmp_path}/shared.db")


@pytest.mark.slow
def test_four_postgresql_workers_run_every_cell_once_and_take_over_a_killed_one(tmp_path, pg_url):
    run_workers(tmp_path, pg_url)


def measure_once_among_workers(url: str, what: str) -> None:
    """Three workers ask for the peak (or the step prices) while the first is measuring it: only the first
    measures (the others would time their work on cores it is loading), and all get its figure."""
    measuring, calls, results = threading.Event(), [], []

    def measure() -> float:
        calls.append(threading.get_ident())
        measuring.set()
        time.sleep(0.5)  # the other workers ask meanwhile
        return 7.0

    def worker() -> None:
        store = Store(url)
        if what == "peak":
            results.append(store.record_peak_flops("hw", "fp32", "cpu", measure))
        else:
            results.append(store.record_step_prices("hw", {"model": "m"}, lambda: {"head": measure()})["head"])

    Store(url)  # the schema exists before the workers start, as it does after `bench run` opens the store
    first = threading.Thread(target=worker)
    first.start()
    assert measuring.wait(30)
    others = [threading.Thread(target=worker) for _ in range(2)]
    for thread in others:
        thread.start()
    for thread in [first, *others]:
        thread.join(60)
    assert len(calls) == 1 and results == [7.0, 7.0, 7.0]
    table = "hardware_peaks" if what == "peak" else "step_prices"
    assert count(url, f"select count(*) from {table}") == [(1,)]


@pytest.mark.parametrize("what", ["peak", "prices"])
def test_one_worker_measures_the_peak_while_the_others_wait_on_sqlite(tmp_path, what):
    measure_once_among_workers(f"sqlite:///{tmp_path}/r.db", what)


@pytest.mark.parametrize("what", ["peak", "prices"])
def test_one_worker_measures_the_peak_while_the_others_wait_on_postgresql(pg_url, what):
    measure_once_among_workers(pg_url, what)
