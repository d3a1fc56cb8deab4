"""The store's query pieces: which runs a cell holds, the filters `runs()` takes, a claim's row."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from bench.results import liveness
from bench.results.identity import Cell, RunIdentity
from bench.results.models import Run


def running_row(run_id: str, identity: RunIdentity, now: datetime) -> Run:
    """A new claim's row: running, on this host and process, its heartbeat now."""
    return Run(id=run_id, status="running", started_at=now, host=liveness.HOST, pid=os.getpid(), heartbeat_at=now,
               **identity.columns())


def in_cell(cell: Cell) -> tuple:
    return Run.suite == cell.suite, Run.config_hash == cell.config_hash, Run.hardware_hash == cell.hardware_hash


def where_runs(query: Any, status: str | None, filters: dict[str, Any]) -> Any:
    """Runs with `status` (any if None) matching column filters (a value or a list of values), oldest first."""
    query = query.order_by(Run.started_at, Run.id)
    if status is not None:
        query = query.where(Run.status == status)
    for key, value in filters.items():
        if value is None:
            continue
        column = getattr(Run, key)
        query = query.where(column.in_(value) if isinstance(value, (list, tuple, set)) else column == value)
    return query


def chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
