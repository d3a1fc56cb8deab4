"""Slurm's time-limit formats, read as whole minutes for submitit's `timeout_min`."""

from __future__ import annotations

import math
import re

from bench.errors import BenchError

_FORMATS = (  # sbatch --time: every form it takes (man sbatch), as named groups
    re.compile(r"(?P<minutes>\d+)"),
    re.compile(r"(?P<minutes>\d+):(?P<seconds>\d+)"),
    re.compile(r"(?P<hours>\d+):(?P<minutes>\d+):(?P<seconds>\d+)"),
    re.compile(r"(?P<days>\d+)-(?P<hours>\d+)"),
    re.compile(r"(?P<days>\d+)-(?P<hours>\d+):(?P<minutes>\d+)"),
    re.compile(r"(?P<days>\d+)-(?P<hours>\d+):(?P<minutes>\d+):(?P<seconds>\d+)"),
)


def minutes(text: str) -> int:
    """`text` in any of sbatch's --time forms ("90", "1:30:00", "2-12"), as minutes rounded up; at least 1."""
    for form in _FORMATS:
        found = form.fullmatch(text.strip())
        if found:
            parts = {name: int(value) for name, value in found.groupdict().items()}
            total = (parts.get("days", 0) * 1440 + parts.get("hours", 0) * 60 + parts.get("minutes", 0)
                     + parts.get("seconds", 0) / 60)
            if total > 0:
                return max(1, math.ceil(total))
    raise BenchError(f"--time {text!r} is not a time limit; use minutes (90), hours:minutes:seconds (1:30:00) "
                     "or days-hours (2-12), as sbatch --time takes them")
