"""Results store: SQLAlchemy 2.0 models, one session helper that commits or rolls back, schema versioned.

A run row is written as `running` before training and completed (with its metrics, curve and per-query
ranks) in one transaction, so an interrupted run is left `failed` or `running`, never half a result.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    create_engine,
    event,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from bench.analysis.metrics import CURVE_METRICS, METRICS
from bench.errors import BenchError
from bench.results.identity import RunIdentity

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "bench_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Run(Base):
    """One strategy x model x data fraction x seed, with everything needed to reproduce and compare it."""

    __tablename__ = "runs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    suite: Mapped[str] = mapped_column(String(128), index=True)
    strategy: Mapped[str] = mapped_column(String(128), index=True)
    label: Mapped[str] = mapped_column(String(256))
    params: Mapped[dict] = mapped_column(JSON)
    task: Mapped[str] = mapped_column(String(128), index=True)
    task_version: Mapped[str] = mapped_column(String(64))
    task_hash: Mapped[str] = mapped_column(String(64))
    model: Mapped[str] = mapped_column(String(512), index=True)
    model_hash: Mapped[str] = mapped_column(String(64))
    seed: Mapped[int] = mapped_column(Integer)
    train_fraction: Mapped[float] = mapped_column(Float, default=1.0)
    settings_hash: Mapped[str] = mapped_column(String(64))
    config_hash: Mapped[str] = mapped_column(String(64))
    settings: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    error: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    device_type: Mapped[str] = mapped_column(String(16))
    device_name: Mapped[str] = mapped_column(String(256))
    device_count: Mapped[int] = mapped_column(Integer, default=1)
    hardware_hash: Mapped[str] = mapped_column(String(64))
    environment: Mapped[dict] = mapped_column(JSON)
    git_commit: Mapped[str] = mapped_column(String(64), default="")
    git_dirty: Mapped[bool] = mapped_column(Boolean, default=False)
    train_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    eval_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    device_hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    peak_memory_bytes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    memory_kind: Mapped[str | None] = mapped_column(String(32), nullable=True)
    samples_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    steps: Mapped[int | None] = mapped_column(Integer, nullable=True)
    train_pairs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    total_params: Mapped[int | None] = mapped_column(Integer, nullable=True)
    trainable_params: Mapped[int | None] = mapped_column(Integer, nullable=True)
    layers: Mapped[int | None] = mapped_column(Integer, nullable=True)
    test_pairs: Mapped[int | None] = mapped_column(Integer, nullable=True)
    test_left_out: Mapped[int | None] = mapped_column(Integer, nullable=True)
    headline_metric: Mapped[str] = mapped_column(String(32), default="mrr")
    ideal_speedup: Mapped[float | None] = mapped_column(Float, nullable=True)

    def metrics(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in METRICS}


class CurvePoint(Base):
    """Dev-split relevance during training, measured outside the timed region."""

    __tablename__ = "curve_points"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    seconds: Mapped[float] = mapped_column(Float)
    headline: Mapped[float] = mapped_column(Float)


# One column per declared metric (bench.analysis.metrics): test-set means on runs, the curve's metrics on points.
for _name in METRICS:
    setattr(Run, _name, mapped_column(_name, Float, nullable=True))
for _name in CURVE_METRICS:
    setattr(CurvePoint, _name, mapped_column(_name, Float, nullable=False))


class QueryRanks(Base):
    """Per-test-query ranks, kept for paired bootstrap intervals (int32 arrays as bytes)."""

    __tablename__ = "query_ranks"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    ranks: Mapped[bytes] = mapped_column(LargeBinary)
    intent_ranks: Mapped[bytes] = mapped_column(LargeBinary)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


class Store:
    """The results database. `read_only` opens SQLite with mode=ro, so a reader can never write."""

    def __init__(self, url: str, read_only: bool = False, create: bool = True):
        self.url = url
        self.read_only = read_only
        try:
            path = _sqlite_path(url)
            if read_only and path is not None:
                if not path.exists():
                    raise BenchError(f"database {path} does not exist; run `python -m bench run` first")
                uri = f"file:{path.resolve()}?mode=ro"
                self.engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
            else:
                if path is not None and not path.parent.exists():
                    raise BenchError(f"cannot create database {path}: folder {path.parent} does not exist; "
                                     "pass --db with a writable location")
                self.engine = create_engine(url)
        except (ArgumentError, ValueError) as exc:
            raise BenchError(f"bad database URL {url!r} ({exc}); use e.g. sqlite:///results.db") from None
        except ImportError as exc:
            raise BenchError(f"database driver for {url!r} is not installed ({exc}); install it") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._open(create and not read_only)

    def _open(self, create: bool) -> None:
        """Create or check the schema; a foreign or newer database is refused rather than touched."""
        try:
            tables = set(inspect(self.engine).get_table_names())
            if "bench_meta" not in tables:
                if tables:
                    raise BenchError(f"database {self.url} holds tables that are not bench's; use another --db")
                if not create:
                    self.empty = True
                    return
                Base.metadata.create_all(self.engine)
                with self.session() as session:
                    session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
            with self.session() as session:
                version = session.get(Meta, "schema_version")
            if version is None or int(version.value) != SCHEMA_VERSION:
                found = version.value if version else "none"
                raise BenchError(f"database {self.url} has schema version {found}, this bench needs "
                                 f"{SCHEMA_VERSION}; use a new --db file")
            self.empty = False
        except SQLAlchemyError as exc:
            raise BenchError(f"cannot open database {self.url}: {_first_line(exc)}; pass --db with a writable "
                             "SQLite path or a reachable database URL") from None

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Commit on success, roll back on any error; database errors become one-line user errors."""
        session = self._sessions()
        try:
            yield session
            if not self.read_only:
                session.commit()
        except SQLAlchemyError as exc:
            session.rollback()
            raise BenchError(f"database error on {self.url}: {_first_line(exc)}; check that it is writable "
                             "and not in use") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def start_run(self, identity: RunIdentity) -> str:
        """Store a `running` row for `identity` and return its id."""
        run_id = str(uuid.uuid4())
        with self.session() as session:
            session.add(Run(id=run_id, status="running", started_at=_now(), **identity.columns()))
        return run_id

    def complete_run(self, run_id: str, results: dict[str, Any], curve: Sequence[dict],
                     ranks: np.ndarray, intent_ranks: np.ndarray) -> None:
        """Store a finished run's results, curve and ranks in one transaction."""
        with self.session() as session:
            run = session.get(Run, run_id)
            for key, value in results.items():
                setattr(run, key, value)
            run.status, run.ended_at = "completed", _now()
            session.add_all(CurvePoint(run_id=run_id, **point) for point in curve)
            session.add(QueryRanks(run_id=run_id, ranks=np.asarray(ranks, np.int32).tobytes(),
                                   intent_ranks=np.asarray(intent_ranks, np.int32).tobytes()))

    def fail_run(self, run_id: str, error: str) -> None:
        with self.session() as session:
            run = session.get(Run, run_id)
            if run is not None:
                run.status, run.ended_at, run.error = "failed", _now(), error[:2000]

    def runs(self, status: str | None = "completed", **filters: Any) -> list[Run]:
        """Runs matching column filters (a value or a list of values), oldest first."""
        if self.empty:
            return []
        with self.session() as session:
            return list(session.scalars(_where(select(Run), status, filters)))

    def run_columns(self, columns: Sequence[str], status: str | None = "completed",
                    **filters: Any) -> list[tuple]:
        """Only the named columns of the runs `runs()` would return, as tuples in the same order.

        Listing thousands of runs (the dashboard's filter choices) this way skips building ORM objects
        and loading their settings and environment, which is most of the cost.
        """
        if self.empty:
            return []
        with self.session() as session:
            return [tuple(row) for row in session.execute(_where(select(*(getattr(Run, c) for c in columns)),
                                                                 status, filters))]

    def ranks(self, run_ids: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        if self.empty or not run_ids:
            return {}
        out = {}
        with self.session() as session:
            for chunk in _chunks(list(run_ids), 500):
                for row in session.scalars(select(QueryRanks).where(QueryRanks.run_id.in_(chunk))):
                    out[row.run_id] = (np.frombuffer(row.ranks, np.int32), np.frombuffer(row.intent_ranks, np.int32))
        return out

    def curves(self, run_ids: Sequence[str]) -> dict[str, list[CurvePoint]]:
        if self.empty or not run_ids:
            return {}
        out: dict[str, list[CurvePoint]] = {run_id: [] for run_id in run_ids}
        with self.session() as session:
            for chunk in _chunks(list(run_ids), 500):
                query = select(CurvePoint).where(CurvePoint.run_id.in_(chunk)).order_by(CurvePoint.step)
                for point in session.scalars(query):
                    out[point.run_id].append(point)
        return out

    def last_modified(self) -> str:
        """A cheap token that changes whenever results change (for dashboard cache invalidation)."""
        path = _sqlite_path(self.url)
        if path is not None and path.exists():
            stat = path.stat()
            return f"{stat.st_mtime_ns}:{stat.st_size}"
        if self.empty:
            return "empty"
        with self.session() as session:
            latest = session.scalars(select(Run.ended_at).order_by(Run.ended_at.desc()).limit(1)).first()
            count = len(session.scalars(select(Run.id)).all())
        return f"{latest}:{count}"


def _where(query: Any, status: str | None, filters: dict[str, Any]) -> Any:
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


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
