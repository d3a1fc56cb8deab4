"""`bench launch --executor slurm` on a real single-node Slurm cluster (tests/support/slurmcluster.py): a suite
with 2 workers on PostgreSQL completes with each cell once while `bench status` follows it; a worker preempted
mid-cell is requeued by submitit and the suite still completes with each cell once; a partition Slurm rejects is
one line and submits nothing. Skipped, with the reason, where Slurm cannot be started."""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from bench.tasks.toy import write_task
from tests.support import slurmcluster
from tests.support.cli import assert_user_error, bench, bench_process, wait_for
from tests.support.stored import count
from tests.support.suites import worker_suite, write_config

CELLS = "select config_hash, count(*) from runs where status = 'completed' group by config_hash"


@pytest.fixture(scope="module")
def cluster():
    reason = slurmcluster.unavailable()
    if reason:
        pytest.skip(reason)
    started = slurmcluster.Cluster()
    try:
        started.start()
    except Exception as exc:  # noqa: BLE001 - any failure to boot is a reason to skip, shown in full
        started.stop()
        pytest.skip(f"the single-node Slurm cluster did not start: {exc}")
    yield started
    started.stop()


def _suite(tmp_path, seeds: int = 2, epochs: float = 2.0):
    return write_config(tmp_path / "bench.toml", worker_suite(write_task(tmp_path / "task"), seeds=seeds,
                                                              epochs=epochs))


def _status(cluster, config, db, cwd) -> str:
    shown = bench("status", "--suite", "t", "--db", db, config=config, cwd=cwd, env=cluster.env)
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def _queue(cluster) -> set[str]:
    """The ids of the jobs in the queue (not their states: a job of an earlier test may move on meanwhile)."""
    listed = subprocess.run(["squeue", "-h", "-o", "%i"], env=cluster.env, capture_output=True, text=True)
    return set(listed.stdout.split())


def test_two_slurm_workers_run_each_cell_once_and_status_follows_them(cluster, tmp_path, pg_url):
    config = _suite(tmp_path, epochs=4.0)
    assert "6 pending" in _status(cluster, config, pg_url, tmp_path)  # before anything runs
    watch = bench_process("status", "--suite", "t", "--db", pg_url, "--watch", "0.5", config=config, cwd=tmp_path,
                          env=cluster.env)
    launched = bench("launch", "--executor", "slurm", "--workers", "2", "--cpus-per-task", "1", "--time", "10",
                     "--suite", "t", "--db", pg_url, "--folder", str(tmp_path / "jobs"), "--wait", config=config,
                     cwd=tmp_path, env=cluster.env)
    time.sleep(2)  # the watcher's last frame, after the last cell
    watch.terminate()
    frames = [frame for frame in watch.communicate()[0].split("\033[2J\033[H") if frame.strip()]
    assert launched.returncode == 0, launched.stderr
    assert "submitted 2 workers of suite 't' to slurm" in launched.stderr and "scancel" in launched.stderr
    in_flight = [frame for frame in frames if " 0 running" not in frame.splitlines()[0]]
    assert in_flight, frames  # status caught cells in flight, each with its worker's host, PID and heartbeat
    assert all("  running " in frame and "heartbeat" in frame for frame in in_flight)
    assert "every cell is done" in frames[-1] and "every cell is done" in _status(cluster, config, pg_url, tmp_path)
    completed = count(pg_url, CELLS)
    assert len(completed) == 3 * 2 and {n for _, n in completed} == {1}
    assert count(pg_url, "select count(*) from runs where status != 'completed'") == [(0,)]
    assert "total wall time" in launched.stdout + launched.stderr


def _job_holding_a_cell(cluster, db: str) -> str | None:
    """The Slurm array task (`<array>_<task>`: a plain job id would signal the whole array) whose process holds a
    running cell (`scontrol listpids`: each job's PIDs)."""
    running = {pid for (pid,) in count(db, "select pid from runs where status = 'running'")}
    listed = subprocess.run(["scontrol", "listpids"], env=cluster.env, capture_output=True, text=True).stdout
    for line in listed.splitlines()[1:]:
        parts = line.split()
        if parts and parts[0].isdigit() and int(parts[0]) in running:
            return _array_task(cluster, parts[1])
    return None


def _array_task(cluster, job_id: str) -> str:
    shown = subprocess.run(["scontrol", "show", "job", job_id], env=cluster.env, capture_output=True,
                           text=True).stdout
    return "{}_{}".format(*(re.search(rf"{field}=(\d+)", shown).group(1) for field in ("ArrayJobId", "ArrayTaskId")))


def test_a_preempted_slurm_worker_is_requeued_and_the_suite_completes_once(cluster, tmp_path, pg_url):
    config = _suite(tmp_path, seeds=3, epochs=3.0)
    launched = bench("launch", "--executor", "slurm", "--workers", "2", "--cpus-per-task", "1", "--time", "10",
                     "--suite", "t", "--db", pg_url, "--folder", str(tmp_path / "jobs"), config=config,
                     cwd=tmp_path, env=cluster.env)
    assert launched.returncode == 0, launched.stderr
    holder = []
    wait_for(lambda: holder.append(_job_holding_a_cell(cluster, pg_url)) or holder[-1], what="a job mid-cell")
    # preemption as this cluster sends it (preempt_send_user_signal): the job's own signal, USR2
    subprocess.run(["scancel", "--signal=USR2", holder[-1]], env=cluster.env, check=True)
    wait_for(lambda: count(pg_url, "select count(*) from runs where status = 'abandoned'") != [(0,)],
             what="the preempted cell given back")
    wait_for(lambda: "every cell is done" in _status(cluster, config, pg_url, tmp_path), timeout=400,
             what="the suite done")
    completed = count(pg_url, CELLS)
    assert len(completed) == 3 * 3 and {n for _, n in completed} == {1}  # each cell once, the preempted one too
    (error,), = count(pg_url, "select error from runs where status = 'abandoned'")  # the preempted one only
    # given back by the worker itself at once (submitit's requeue exit, or the requeue's SIGTERM landing first),
    # never left for the other worker to take over once the process is gone ("stopped")
    assert error.startswith("abandoned: ") and any(why in error for why in ("requeue", "SIGTERM")), error
    shown = subprocess.run(["scontrol", "show", "job", holder[-1]], env=cluster.env, capture_output=True,
                           text=True).stdout
    assert "Restarts=1" in shown, shown  # submitit requeued it, and it went on with the suite
    wait_for(lambda: not _queue(cluster), what="the jobs to end")


def test_a_partition_slurm_rejects_is_one_line_and_submits_nothing(cluster, tmp_path, pg_url):
    config = _suite(tmp_path)
    before = _queue(cluster)
    result = bench("launch", "--executor", "slurm", "--partition", "no-such-partition", "--suite", "t", "--db",
                   pg_url, "--folder", str(tmp_path / "jobs"), config=config, cwd=tmp_path, env=cluster.env)
    assert_user_error(result, "slurm refused the job", "invalid partition")
    assert _queue(cluster) == before
