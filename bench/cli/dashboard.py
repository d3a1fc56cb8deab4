"""`python -m bench dashboard`: start the Streamlit app, dashboard/app.py, as a child process.

The app is found where the installed `dashboard` package lies (its spec, nothing imported), so bench never imports
the dashboard's code: the dashboard reads bench, not the other way round. A subprocess rather than Streamlit's
in-process bootstrap keeps Streamlit's signal handling and server loop out of the CLI, and lets the exit code pass
straight through.
"""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

from bench.errors import BenchError


def app_path() -> Path:
    """dashboard/app.py of the installed `dashboard` package."""
    spec = importlib.util.find_spec("dashboard")
    if spec is None or spec.origin is None:
        raise BenchError("the dashboard package is not installed; run `pip install -e .` in bench's checkout")
    return Path(spec.origin).parent / "app.py"


def command(db_url: str, host: str, port: int, config: str | None = None) -> list[str]:
    """The streamlit command line; the db URL (and config) reach the app after `--`."""
    # toolbarMode minimal: no Deploy button, no developer menu (a local tool, not an app to publish).
    cmd = [sys.executable, "-m", "streamlit", "run", str(app_path()), "--server.address", host, "--server.port",
           str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "minimal", "--", "--db", db_url]
    return cmd + (["--config", config] if config else [])


def launch(db_url: str, host: str = "127.0.0.1", port: int = 8501, config: str | None = None) -> int:
    """Run the dashboard until it is stopped; returns Streamlit's exit code."""
    if importlib.util.find_spec("streamlit") is None:
        raise BenchError("the dashboard needs streamlit, which is not installed; run `pip install -e .`")
    app = app_path()
    if not app.exists():
        raise BenchError(f"dashboard app {app} is missing; reinstall bench from its source checkout")
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
