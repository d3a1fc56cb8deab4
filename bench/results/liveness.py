"""Is a `running` run still alive? Each run records its host, process id and a heartbeat that a background thread
refreshes while it runs. A run whose process is gone (same host, pid dead) or whose heartbeat is older than the
limit is abandoned: shown as such, never as running for ever, never counted, and its cell is free to run again."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from bench.errors import BenchError

HOST = socket.gethostname()


def process_alive(pid: int) -> bool:
    """True while `pid` is a live process on this host (a zombie, killed but not yet reaped, counts as dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, owned by someone else
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def abandoned(status: str, host: str | None, pid: int | None, heartbeat_at: datetime | None, now: datetime,
              limit: timedelta) -> bool:
    """A `running` run whose process is gone or whose heartbeat is older than `limit`."""
    if status != "running":
        return False
    if heartbeat_at is None or now - heartbeat_at > limit:
        return True
    return host == HOST and pid is not None and not process_alive(pid)


Wait = Callable[[threading.Event, float], bool]
"""Waits up to `seconds` for the stop event; True once it is set (a fake clock in the tests)."""


def wait_on_clock(stop: threading.Event, seconds: float) -> bool:
    return stop.wait(seconds)


class Heartbeat:
    """Calls `beat()` every `interval` seconds on a daemon thread until stopped: off the training thread, so the
    timed region never waits on the database (a failed beat is retried at the next interval). `wait` is the
    clock, injectable so a test can step it instead of sleeping."""

    def __init__(self, beat: Callable[[], None], interval: float, wait: Wait = wait_on_clock):
        self._beat, self._interval, self._wait = beat, interval, wait
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bench-heartbeat", daemon=True)

    def _loop(self) -> None:
        while not self._wait(self._stop, self._interval):
            try:
                self._beat()
            except BenchError:  # the database was busy or away: the run only looks older until the next beat
                pass

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
