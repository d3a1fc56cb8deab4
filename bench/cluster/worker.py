"""What each task of a launched job runs: `bench run --worker` on the suite's shared database, in the job's own
Python process, and how it meets a scheduler's signals.

A cluster warns a job before it stops it. Slurm sends SIGTERM at preemption, then (with
`SlurmctldParameters=preempt_send_user_signal`) the job's own signal, which it also sends `signal_delay_s` before
the time limit. submitit answers that signal by requeuing the job and exiting it. The worker meets both: on
SIGTERM its run in flight is stored as abandoned at once (bench/suite/preemption.py) and it waits a grace period
for the requeue; on the user signal the requeue's exit abandons the run the same way. Requeued, the worker
starts again and goes on with the cells still open.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from submitit.helpers import Checkpointable

GRACE_SECONDS = 30.0
"""After SIGTERM, how long a worker waits for its job's requeue signal before it exits anyway."""


class SuiteWorker(Checkpointable):
    """Runs `python -m bench <argv>` in the job, through `command` (the command line's entry, `run_command`:
    passed in, so this module needs nothing above it); requeued as it is (stateless: the database knows which
    cells are done), so a preempted or timed-out job comes back and goes on."""

    def __init__(self, command: Callable[[list[str]], int], argv: list[str], cwd: str, threads: int | None = None):
        self.command, self.argv, self.cwd, self.threads = command, argv, cwd, threads

    def __call__(self, index: int = 0) -> int:
        os.chdir(self.cwd)
        if self.threads:  # before torch is imported: its CPU threads match the CPUs the job was given
            os.environ.setdefault("OMP_NUM_THREADS", str(self.threads))
        from bench.suite.preemption import EXIT_CODE

        code = self.command(self.argv)
        if code == EXIT_CODE and os.environ.get("SLURM_JOB_ID"):
            time.sleep(GRACE_SECONDS)  # the requeue signal, if the cluster sends one, arrives here and exits
        if code != 0:
            raise RuntimeError(f"bench {' '.join(self.argv)} exited with {code} (see this job's log)")
        return code
