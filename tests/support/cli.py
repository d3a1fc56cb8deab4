"""`python -m bench` as a real subprocess: the exit code, stdout and stderr a user sees."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SGD_DIR = ROOT.parent / "shared" / "data" / "sgd"


def bench_command(*args: str, config: Path | None = None) -> list[str]:
    return [sys.executable, "-m", "bench", *(["--config", str(config)] if config else []), *args]


def _environment(threads: int | None, env: dict[str, str] | None) -> dict[str, str]:
    return {**os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}), **(env or {})}


def bench(*args: str, config: Path | None = None, cwd: Path = ROOT, threads: int | None = None,
          env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs to the end. `threads` pins torch's threads (two processes contend on a 2-core box); `env` adds
    variables."""
    return subprocess.run(bench_command(*args, config=config), cwd=cwd, env=_environment(threads, env),
                          capture_output=True, text=True, timeout=timeout)


def bench_process(*args: str, config: Path | None = None, cwd: Path = ROOT, threads: int | None = 1,
                  env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    """Started and left running, for tests that kill it, race it or run several at once."""
    return subprocess.Popen(bench_command(*args, config=config), cwd=cwd, env=_environment(threads, env),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def assert_user_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2 with one `bench: error:` line that names each fragment, and no traceback."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def wait_for(condition: Callable[[], object], timeout: float = 240.0, what: str = "") -> None:
    """Polls `condition` (a database query, say) until it is true; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
