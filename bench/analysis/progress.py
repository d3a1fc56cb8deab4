"""Where a suite stands across its workers (`bench status`, the dashboard's Progress view): each planned cell done,
running (where, and how fresh its heartbeat is), pending, failed or abandoned, and when the rest should be done.

Pure: it takes the planned cells and the stored runs and does the arithmetic, so the same figures show in the
terminal and the dashboard, and a test can give it literal runs."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bench.results import liveness
from bench.results.store import Store

STATES = ("done", "running", "pending", "failed", "abandoned")


@dataclass(frozen=True)
class CellKey:
    """A cell as a person names it: model, data fraction, seed, strategy label (and rank count where a suite asks
    for several). Hardware is left out on purpose: a suite on a cluster is one suite whichever node ran a cell."""

    model: str
    fraction: float
    seed: int
    label: str
    ranks: int = 1

    def describe(self) -> str:
        data = "" if self.fraction == 1 else f", data {self.fraction:g}"
        ranks = "" if self.ranks == 1 else f", {self.ranks} ranks"
        return f"{self.label} seed {self.seed} ({self.model}{data}{ranks})"


@dataclass(frozen=True)
class StoredRun:
    """What progress needs of a run (a projection of the store's Run)."""

    key: CellKey
    status: str
    """As stored: running, completed, failed or abandoned."""
    started_at: datetime
    ended_at: datetime | None
    host: str | None
    pid: int | None
    heartbeat_at: datetime | None
    error: str | None
    alive: bool
    """For a running run: its process is alive and its heartbeat fresh (bench/results/liveness.py)."""


@dataclass(frozen=True)
class CellProgress:
    key: CellKey
    state: str
    """One of STATES."""
    run: StoredRun | None
    """The run that decides the state (None while pending)."""


@dataclass(frozen=True)
class Progress:
    cells: list[CellProgress]
    now: datetime
    median_cell_seconds: float | None
    """The median of the completed runs' wall time (claim to stored result)."""
    live_workers: int
    """Processes holding a cell now (a worker waiting between cells holds none)."""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def remaining(self) -> int:
        return len(self.cells) - self.counts["done"]

    @property
    def eta_seconds(self) -> float | None:
        """The remaining cells at the median cell time, split over the live workers; None without a completed
        cell to time, or with no live worker while cells remain."""
        if not self.remaining:
            return 0.0
        if self.median_cell_seconds is None or not self.live_workers:
            return None
        return self.remaining * self.median_cell_seconds / self.live_workers

    def in_state(self, state: str) -> list[CellProgress]:
        return [cell for cell in self.cells if cell.state == state]

    def heartbeat_age(self, cell: CellProgress) -> float | None:
        beat = cell.run.heartbeat_at if cell.run else None
        return None if beat is None else max(0.0, (self.now - beat).total_seconds())


def cell_state(runs: Sequence[StoredRun]) -> tuple[str, StoredRun | None]:
    """A cell's state from its runs: done if any completed; else running if a live process holds it; else the
    newest run's outcome (failed, or abandoned: a stopped or silent process); pending with no run at all."""
    done = [run for run in runs if run.status == "completed"]
    if done:
        return "done", done[-1]
    live = [run for run in runs if run.status == "running" and run.alive]
    if live:
        return "running", live[-1]
    if not runs:
        return "pending", None
    newest = max(runs, key=lambda run: run.started_at)
    return ("failed" if newest.status == "failed" else "abandoned"), newest


def progress(planned: Iterable[CellKey], runs: Iterable[StoredRun], now: datetime) -> Progress:
    """Each planned cell's state, the median cell time and the live workers (runs of cells the plan does not
    name, e.g. of an older version of the suite, are left out)."""
    by_key: dict[CellKey, list[StoredRun]] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        by_key.setdefault(run.key, []).append(run)
    cells = [CellProgress(key, *cell_state(by_key.get(key, []))) for key in dict.fromkeys(planned)]
    durations = [(c.run.ended_at - c.run.started_at).total_seconds() for c in cells
                 if c.state == "done" and c.run.ended_at is not None]
    workers = {(c.run.host, c.run.pid) for c in cells if c.state == "running"}
    counts = {state: sum(c.state == state for c in cells) for state in STATES}
    return Progress(cells, now, statistics.median(durations) if durations else None, len(workers), counts)


def format_seconds(seconds: float | None) -> str:
    """3.2 s, 4 min 05 s, 2 h 03 min; '-' for None."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def stored_runs(runs: Iterable, stale_after: timedelta, now: datetime, by_ranks: bool) -> list[StoredRun]:
    """The store's runs (bench.results.models.Run) as progress reads them; `by_ranks` keeps the rank count in
    the key (a suite with `world_sizes`)."""
    return [StoredRun(key=CellKey(run.model, round(run.train_fraction, 9), run.seed, run.label,
                                  (run.device_count or 1) if by_ranks else 1),
                      status=run.status, started_at=run.started_at, ended_at=run.ended_at, host=run.host,
                      pid=run.pid, heartbeat_at=run.heartbeat_at, error=run.error,
                      alive=run.status == "running" and not liveness.abandoned(
                          run.status, run.host, run.pid, run.heartbeat_at, now, stale_after))
            for run in runs]


def of_suite(store: Store, suite: str, stale_after: timedelta,
             fallback: Callable[[], list[CellKey]] | None = None) -> Progress | None:
    """The suite's progress now, against the plan its newest process stored (else `fallback()`'s plan, e.g.
    bench.toml's before anything ran); None with neither."""
    now = datetime.now(UTC).replace(tzinfo=None)
    stored = store.plan(suite)
    planned = [CellKey(*cell) for cell in stored] if stored else (fallback() if fallback else None)
    if planned is None:
        return None
    runs = store.runs(status=None, suite=suite)
    return progress(planned, stored_runs(runs, stale_after, now, by_ranks=any(key.ranks != 1 for key in planned)),
                    now)
