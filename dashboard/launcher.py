"""`python -m bench dashboard`: start the Streamlit app in dashboard/app.py as a child process.

A subprocess rather than Streamlit's in-process bootstrap keeps Streamlit's signal handling and
server loop out of the CLI, and lets the exit code pass straight through.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.errors import BenchError

APP = Path(__file__).resolve().parent / "app.py"
# Debian's Chromium, headless, for the browser test and the screenshot; no background connections (closed network).
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def command(db_url: str, host: str, port: int, config: str | None = None) -> list[str]:
    """The streamlit command line; the db URL (and config) reach the app after `--`."""
    # toolbarMode minimal: no Deploy button, no developer menu (a local tool, not an app to publish).
    cmd = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", host, "--server.port",
           str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "minimal", "--", "--db", db_url]
    return cmd + (["--config", config] if config else [])


def launch(db_url: str, host: str = "127.0.0.1", port: int = 8501, config: str | None = None) -> int:
    """Run the dashboard until it is stopped; returns Streamlit's exit code."""
    if importlib.util.find_spec("streamlit") is None:
        raise BenchError("the dashboard needs streamlit, which is not installed; run `pip install -e .`")
    if not APP.exists():
        raise BenchError(f"dashboard app {APP} is missing; reinstall bench from its source checkout")
    print(f"bench: dashboard on http://{host}:{port} reading {db_url} (Ctrl+C to stop)", file=sys.stderr)
    process = subprocess.Popen(command(db_url, host, port, config))
    # SIGTERM to bench stops the server too, instead of leaving it running orphaned.
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: process.send_signal(signum))
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl+C: Streamlit got it too and shuts down; wait for it
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait()
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)


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
                               cwd=APP.parent.parent, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
