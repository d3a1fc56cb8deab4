"""`bench launch`: a suite's workers as cluster jobs through submitit, checked before anything is submitted.

Each task runs `bench run --worker` (bench/cluster/worker.py) against the suite's shared database, so cells are
claimed once, a dead worker's cell is taken over, and the suite is done when every cell is, however many jobs
ran it and wherever. A run of several ranks (`--nproc`) is one task with that many CPUs' or GPUs' worth of
local ranks (`bench run --nproc`), which claims cells but does not wait for others' (workers and ranks do not
combine)."""

from __future__ import annotations

import contextlib
import io
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.errors import BenchError
from bench.results.engine import sqlite_path

EXECUTORS = ("slurm", "local")
LOOPBACK = ("localhost", "127.0.0.1", "::1", "")


@dataclass(frozen=True)
class Resources:
    """What each task asks the scheduler for."""

    minutes: int
    partition: str | None = None
    cpus_per_task: int | None = None
    gpus_per_task: int = 0
    mem_gb: float | None = None


@dataclass(frozen=True)
class LaunchRequest:
    executor: str
    workers: int
    resources: Resources
    run_argv: list[str]
    """`bench run`'s arguments for each task (the suite options, --db, and --worker or --nproc)."""
    db: str
    folder: Path
    """submitit's folder (pickles and logs), with `%j` for the job id: on a filesystem the nodes share."""
    name: str


def check_database(executor: str, workers: int, url: str) -> None:
    """Refuse a database the tasks could not share: a relative SQLite path (a job's working folder is not
    yours), SQLite for several Slurm workers (several nodes cannot share one SQLite file safely), a loopback
    server where the cluster has other nodes."""
    path = sqlite_path(url)
    if path is not None and executor == "slurm":
        if not path.is_absolute():
            raise BenchError(f"--db {url}: a relative SQLite path is not the same file on a compute node; give an "
                             "absolute path on a shared filesystem, or a PostgreSQL URL")
        if workers > 1:
            raise BenchError(f"--db {url}: SQLite cannot be shared by workers on several nodes (its locks need "
                             "one machine); run a PostgreSQL server and pass its URL, and `bench db copy` brings "
                             "earlier SQLite results over")
    if path is None and executor == "slurm" and (make_url(url).host or "") in LOOPBACK:
        others = sorted(set(slurm_nodes()) - {socket.gethostname().split(".")[0]})
        if others:
            raise BenchError(f"--db {url}: the server is on loopback, which nodes {', '.join(others[:3])} cannot "
                             "reach; give the server's network name in the URL")


def slurm_nodes() -> list[str]:
    """The cluster's node names (`sinfo`), or a one-line error where Slurm is not there to ask."""
    if shutil.which("sinfo") is None:
        raise BenchError("--executor slurm: Slurm's commands (sinfo, sbatch) are not on PATH; run on a login "
                         "node, or use --executor local")
    done = subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise BenchError(f"--executor slurm: sinfo failed: {_one_line(done.stderr)}")
    return [line.strip() for line in done.stdout.splitlines() if line.strip()]


def executor_for(request: LaunchRequest):
    """A submitit executor for the request's cluster and resources."""
    try:
        import submitit
    except ImportError:
        raise BenchError("bench launch needs submitit: pip install 'bench[cluster]'") from None
    resources = request.resources
    executor = submitit.AutoExecutor(folder=str(request.folder), cluster=request.executor)
    parameters = {"name": request.name, "timeout_min": resources.minutes, "tasks_per_node": 1, "nodes": 1,
                  "cpus_per_task": resources.cpus_per_task or 1}
    if resources.gpus_per_task:
        parameters["gpus_per_node"] = resources.gpus_per_task
    if resources.mem_gb:
        parameters["mem_gb"] = resources.mem_gb
    if request.executor == "slurm":
        parameters["slurm_array_parallelism"] = request.workers
        if resources.partition:
            parameters["slurm_partition"] = resources.partition
    executor.update_parameters(**parameters)
    return executor


def submit(request: LaunchRequest, cwd: Path, command: Callable[[list[str]], int]) -> list:
    """Submit the workers as one job array; sbatch's refusal (an unknown partition, say) is one line."""
    from submitit.core.utils import FailedJobError, FailedSubmissionError

    from bench.cluster.worker import SuiteWorker

    request.folder.parent.mkdir(parents=True, exist_ok=True)
    worker = SuiteWorker(command, request.run_argv, str(cwd), request.resources.cpus_per_task)
    refused = io.StringIO()
    try:
        with contextlib.redirect_stderr(refused):  # submitit echoes sbatch's stderr before raising it
            return executor_for(request).map_array(worker, range(request.workers))
    except (FailedJobError, FailedSubmissionError, subprocess.CalledProcessError, OSError) as exc:
        raise BenchError(f"{request.executor} refused the job: {_one_line(str(exc) or refused.getvalue())}") \
            from None


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " / ".join(lines[:2]) if lines else "no message"
