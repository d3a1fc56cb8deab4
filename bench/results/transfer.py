"""`python -m bench db copy`: move results between stores (e.g. several machines' SQLite files into one
PostgreSQL) without duplicates.

A run is copied with all its columns, curve points, query ranks and step times, a batch of runs per transaction,
so an interrupted copy leaves only whole runs in the target; a run whose id the target already holds is skipped,
so copying again copies nothing. `running` runs are left behind: they belong to a live process that will still
write to them in the source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Table, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session

from bench.errors import BenchError
from bench.results.models import CurvePoint, QueryRanks, Run, StepTimes
from bench.results.store import Store

RESULTS = ("completed", "failed", "abandoned")  # runs that are, or record, a result; `running` ones are live
BATCH = 200  # runs per transaction
CHILDREN: tuple[Table, ...] = (CurvePoint.__table__, QueryRanks.__table__, StepTimes.__table__)  # keyed by run_id


@dataclass(frozen=True)
class Copied:
    copied: int
    already: int
    running: int
    source: str
    target: str

    def summary(self) -> str:
        return (f"copied {self.copied} runs ({self.already} already there, {self.running} running skipped) "
                f"from {self.source} to {self.target}")


def copy(source_url: str, target_url: str, batch: int = BATCH) -> Copied:
    """Copy every result run of `source_url` that `target_url` lacks; the source is only read."""
    if _where(source_url) is not None and _where(source_url) == _where(target_url):
        raise BenchError(f"--from and --to are the same database ({_shown(source_url)}); copy into another one")
    source = Store(source_url, read_only=True)
    try:
        target = Store(target_url)
        try:
            copied, already, running = _copy(source, target, batch)
        finally:
            target.engine.dispose()
    finally:
        source.engine.dispose()
    return Copied(copied, already, running, _shown(source_url), _shown(target_url))


def _copy(source: Store, target: Store, batch: int) -> tuple[int, int, int]:
    if source.empty:  # not a bench database yet: nothing to copy
        return 0, 0, 0
    with source.session() as session:
        running = session.scalar(select(func.count()).select_from(Run).where(Run.status == "running")) or 0
        ids = list(session.scalars(select(Run.id).where(Run.status.in_(RESULTS)).order_by(Run.started_at, Run.id)))
    copied = 0
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        with target.session(write=True) as into:  # one transaction: the batch's runs land whole or not at all
            have = set(into.scalars(select(Run.id).where(Run.id.in_(chunk))))
            wanted = [run_id for run_id in chunk if run_id not in have]
            if wanted:
                with source.session() as session:
                    _insert(into, Run.__table__, _rows(session, Run.__table__, Run.__table__.c.id, wanted))
                    for table in CHILDREN:
                        _insert(into, table, _rows(session, table, table.c.run_id, wanted))
        copied += len(wanted)
    return copied, len(ids) - copied, running


def _rows(session: Session, table: Table, key, ids: Sequence[str]) -> list[dict]:
    """Every column of `table`'s rows for `ids`, as Core reads them (JSON decoded, bytes as bytes)."""
    return [dict(row) for row in session.execute(select(table).where(key.in_(ids))).mappings()]


def _insert(session: Session, table: Table, rows: list[dict]) -> None:
    if rows:
        session.execute(table.insert(), rows)


def _where(url: str) -> tuple | None:
    """What a URL points at, so two spellings of one database compare equal; None when it does not parse (the
    store then says why)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            return None  # each in-memory database is its own
        return backend, Path(parsed.database).resolve()
    return backend, parsed.host, parsed.port, parsed.database


def _shown(url: str) -> str:
    """The URL as printed: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
