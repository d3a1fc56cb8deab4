"""The dashboard served on a free loopback port and stopped afterwards, for the browser test and the README's
screenshot; `python -m bench dashboard` itself starts it (bench/cli/dashboard.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the checkout: where `python -m bench` runs from
# Debian's Chromium, headless, for the browser test and the screenshot; no background connections (closed network).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(process: subprocess.Popen, port: int, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dashboard exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"dashboard did not answer on port {port} within {timeout:.0f} s")


@contextlib.contextmanager
def dashboard_server(url: str, log):
    """`python -m bench dashboard` on a free loopback port, stopped (with its Streamlit child) afterwards: for the
    browser test and the README's screenshot."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench", "dashboard", "--db", url, "--port", str(port)],
                               cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_until_healthy(process, port)
        yield port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
