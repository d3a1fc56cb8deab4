"""A worker stopped from outside gives its cell back at once.

A shared cluster stops jobs every week: Slurm preempts one (SIGTERM, or the job's own signal when the cluster
sends it), warns one before its time limit, submitit requeues one (its handler exits the process), a user
presses Ctrl-C. The run in flight is then stored as `abandoned`, naming why, in the moment it stops: its cell is
free for any other worker straight away, not once its heartbeat goes stale, and nothing of its half-finished
result is kept (results are written in one transaction, at the end).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

EXIT_CODE = 128 + signal.SIGTERM
"""What `python -m bench` exits with after SIGTERM, as a process killed by it would."""


class Interrupted(BaseException):
    """SIGTERM while a suite runs. A BaseException, like KeyboardInterrupt: no `except Exception` on the way
    may swallow it."""


STOPS = (Interrupted, KeyboardInterrupt, SystemExit)
"""What stops a run from outside (a signal, Ctrl-C, a requeue's exit), as opposed to a run that failed."""


def why_stopped(exc: BaseException) -> str:
    """One line for the abandoned run's error column."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    if isinstance(exc, SystemExit):
        return f"its process exited (code {exc.code}; a scheduler's requeue, or the job's end)"
    return str(exc) or type(exc).__name__


def _raise_interrupted(signum, frame):
    raise Interrupted(f"terminated by signal {signal.Signals(signum).name} (preempted, cancelled, or near its "
                      "time limit)")


HELD = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2)
"""The signals `shielded` holds: a stop, Ctrl-C and the scheduler's warning signals."""


@contextmanager
def shielded() -> Iterator[None]:
    """SIGTERM, SIGINT and the scheduler's warning signals wait until the block ends, then are delivered: while a
    stopped run is being stored as abandoned, the signal that follows the first (a requeue's SIGTERM after its
    exit) must not cut the write short and leave the cell claimed until its heartbeat goes stale.

    Held by swapping the Python handlers, not by the thread's signal mask: the kernel may hand a process signal
    to any thread that does not block it (tqdm's monitor, torch's workers), and CPython then runs the Python
    handler in the main thread all the same (found on Slurm: the requeue's SIGTERM rolled the write back)."""
    arrived: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: arrived.append(signum)) for signum in HELD}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        for signum in dict.fromkeys(arrived):
            signal.raise_signal(signum)


@contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM raises `Interrupted` in the run in flight (so it is stored as abandoned), then the process exits."""
    from bench.ranks import distributed  # torch: only where a suite runs, not on `bench`'s every start

    previous = signal.signal(signal.SIGTERM, distributed.sigterm_handler(_raise_interrupted))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
