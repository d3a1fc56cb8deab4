"""What a run needs to be reproduced: code version, library versions, interpreter."""

from __future__ import annotations

import platform
import subprocess
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def git_state(root: Path = PROJECT_ROOT) -> tuple[str, bool]:
    """(commit, dirty); ("", False) outside a git checkout."""
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return "", False
    return commit, bool(status.strip())


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


def capture() -> dict[str, str | bool]:
    commit, dirty = git_state()
    return {"git_commit": commit, "git_dirty": dirty, "python": platform.python_version(),
            "torch": _version("torch"), "transformers": _version("transformers"),
            "bench": _version("bench") or "source", "platform": platform.platform()}
