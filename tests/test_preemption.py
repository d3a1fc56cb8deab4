"""A shared cluster's faults, for real: a worker stopped by SIGTERM (Slurm's preemption, or its warning before a
time limit) frees its cell at once and the suite still completes with each cell once; a PostgreSQL server that
restarts under two workers loses no cell and runs none twice."""

from __future__ import annotations

import signal
import threading
import time
from datetime import UTC, datetime

import pytest

from bench.results.store import Store
from bench.suite import preemption
from bench.suite.preemption import EXIT_CODE
from bench.tasks.toy import write_task
from tests.support import pgserver
from tests.support.cli import bench_process, wait_for
from tests.support.stored import count
from tests.support.suites import worker_suite, write_config

CELLS = "select config_hash, count(*) from runs where status = 'completed' group by config_hash"


def _config(tmp_path, seeds: int, epochs: float, stale_after: float = 30):
    document = worker_suite(write_task(tmp_path / "task"), seeds=seeds, epochs=epochs)
    document["workers"] = {**document["workers"], "stale_after_seconds": stale_after}
    return write_config(tmp_path / "bench.toml", document)


def _running_pid(url: str, pids: set[int]) -> int | None:
    return next((pid for (pid,) in count(url, "select pid from runs where status = 'running'") if pid in pids), None)


def test_a_stop_signal_waits_for_a_shielded_block_even_when_another_thread_receives_it():
    # the kernel may hand a process's SIGTERM to any thread (tqdm's monitor, torch's workers); CPython then runs
    # the Python handler in the main thread, so a signal mask on the main thread alone would not hold it
    seen: list[str] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append("handled"))
    release = threading.Event()
    other = threading.Thread(target=release.wait, args=(10,))
    other.start()
    try:
        with preemption.shielded():
            signal.pthread_kill(other.ident, signal.SIGTERM)
            for _ in range(200):  # bytecode boundaries, at each of which a pending handler would run
                time.sleep(0.001)
            seen.append("block done")
        seen.append("after")
    finally:
        release.set()
        other.join()
        signal.signal(signal.SIGTERM, previous)
    assert seen == ["block done", "handled", "after"]  # held until the block ended, then delivered once


def test_a_shielded_block_that_no_signal_reaches_leaves_the_handlers_as_they_were():
    before = {signum: signal.getsignal(signum) for signum in preemption.HELD}
    with preemption.shielded():
        pass
    assert {signum: signal.getsignal(signum) for signum in preemption.HELD} == before


def stop_one_worker_and_finish(tmp_path, url: str) -> None:
    # stale after 10 minutes: a cell freed only by its heartbeat going stale would hold the suite past the timeout
    config = _config(tmp_path, seeds=2, epochs=3.0, stale_after=600)
    victim = bench_process("run", "--suite", "t", "--quiet", "--worker", "--db", url, config=config)
    wait_for(lambda: _running_pid(url, {victim.pid}), what="the worker holding a cell")
    victim.send_signal(signal.SIGTERM)
    _, err = victim.communicate(timeout=60)
    assert victim.returncode == EXIT_CODE, err
    assert "terminated by signal SIGTERM" in err and "Traceback" not in err
    (status, error), = count(url, f"select status, error from runs where pid = {victim.pid} and status != "
                                  "'completed'")
    assert status == "abandoned" and "SIGTERM" in error and f":{victim.pid} " in error
    # the requeued worker (Slurm brings the job back), with a second one beside it
    started = time.monotonic()
    workers = [bench_process("run", "--suite", "t", "--quiet", "--worker", "--db", url, config=config)
               for _ in range(2)]
    for worker in workers:
        _, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err
    assert time.monotonic() - started < 300  # never waited out the 600 s heartbeat limit
    completed = count(url, CELLS)
    assert len(completed) == 3 * 2 and {n for _, n in completed} == {1}  # every cell, exactly once
    assert count(url, "select count(*) from runs where status not in ('completed', 'abandoned')") == [(0,)]


@pytest.mark.slow
def test_a_sigterm_frees_the_cell_at_once_and_the_suite_completes_once_on_sqlite(tmp_path):
    stop_one_worker_and_finish(tmp_path, f"sqlite:///{tmp_path}/shared.db")


@pytest.mark.slow
def test_a_sigterm_frees_the_cell_at_once_and_the_suite_completes_once_on_postgresql(tmp_path, pg_url):
    stop_one_worker_and_finish(tmp_path, pg_url)


@pytest.mark.slow
def test_a_postgresql_restart_under_two_workers_loses_no_cell_and_runs_none_twice(tmp_path):
    reason = pgserver.unavailable()
    if reason:
        pytest.skip(reason)
    server = pgserver.Server().start()  # its own server: the test stops it
    try:
        url = server.new_database()
        config = _config(tmp_path, seeds=4, epochs=3.0)
        workers = [bench_process("run", "--suite", "t", "--quiet", "--worker", "--db", url, config=config)
                   for _ in range(2)]
        wait_for(lambda: count(url, CELLS) and _running_pid(url, {w.pid for w in workers}),
                 what="a completed cell and one in flight")
        down = datetime.now(UTC).replace(tzinfo=None)
        server.pause()  # every connection dropped, new ones refused, while both workers train
        time.sleep(8)  # longer than a cell: a run finishes while the server is away
        server.resume()
        up = datetime.now(UTC).replace(tzinfo=None)
        for worker in workers:
            _, err = worker.communicate(timeout=300)
            assert worker.returncode == 0, err
        completed = count(url, CELLS)
        assert len(completed) == 3 * 4 and {n for _, n in completed} == {1}  # 0 cells lost, 0 run twice
        assert count(url, "select count(*) from runs where status != 'completed'") == [(0,)]
        spanning = count(url, "select started_at, ended_at from runs where status = 'completed'")
        assert any(_at(start) < down and _at(end) > up for start, end in spanning)  # written once it was back
    finally:
        server.stop()


def _at(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def test_workers_starting_together_record_the_suites_plan_once_each_without_a_clash(pg_url):
    """Every worker of a launch records the plan as it starts, often in the same instant: the second insert of
    one suite's plan must update it, not fail the worker on the primary key."""
    stores = [Store(pg_url) for _ in range(6)]
    for round_ in range(15):
        start = threading.Barrier(len(stores))
        errors = []

        def record(store, index, suite=f"s{round_}", start=start, errors=errors):
            start.wait()
            try:
                store.record_plan(suite, [["m", 1.0, index, "baseline", 1]])
            except Exception as exc:  # noqa: BLE001 - collected, then shown by the assertion
                errors.append(exc)

        threads = [threading.Thread(target=record, args=(store, i)) for i, store in enumerate(stores)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        assert len(stores[0].plan(f"s{round_}")) == 1
