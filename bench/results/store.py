"""The results store: one session helper that commits or rolls back, migrations, claims on cells.

A run row is written as `running` before training (claiming its cell) and completed, with its metrics, curve,
per-query ranks and per-step seconds, in one transaction, so an interrupted run is left `failed` or `running`,
never half a result; a `running` run whose process died is seen as abandoned (bench/results/liveness.py) and
its cell is free again.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bench.errors import BenchError, first_line
from bench.results import liveness, migrate
from bench.results.engine import engine_for, sqlite_path, use_wal
from bench.results.identity import Cell, RunIdentity, stable_hash
from bench.results.models import (
    Base,
    CurvePoint,
    HardwarePeak,
    Meta,
    QueryRanks,
    Run,
    StepPriceRecord,
    StepTimes,
    SuitePlan,
)
from bench.results.queries import chunks, in_cell, running_row, where_runs
from bench.results.reconnect import (
    RECONNECT_SECONDS,
    Disconnected,
    reconnecting,
    roll_back,
    server_lost,
)

UPSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
"""INSERT ... ON CONFLICT DO UPDATE, where the dialect has it."""
SCHEMA_VERSION = 7  # bench_meta's schema_version, kept in step with the Alembic head by the migrations
CREATE_LOCK = 2111139990  # PostgreSQL advisory lock key held while the schema is created
PEAK_LOCK = 2111139991  # ... and while a worker measures the machine's matmul peak


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Store:
    """The results database. `read_only` opens SQLite with mode=ro, so a reader can never write."""

    def __init__(self, url: str, read_only: bool = False, create: bool = True,
                 reconnect_seconds: float = RECONNECT_SECONDS):
        self.url = url
        self.read_only = read_only
        self.reconnect_seconds = reconnect_seconds
        self.engine = engine_for(url, read_only)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._writes = sessionmaker(self.engine.execution_options(immediate=True), expire_on_commit=False)
        self._open(create and not read_only)

    def _open(self, create: bool) -> None:
        """Create or check the schema. A foreign database is refused, an older one is left for `bench db upgrade`
        (never upgraded behind the user's back), and a newer one is refused."""
        try:
            tables = set(inspect(self.engine).get_table_names())
            if "bench_meta" not in tables:
                if tables:
                    raise BenchError(f"database {self.url} holds tables that are not bench's; use another --db")
                if not create:
                    self.empty = True
                    return
                self._create()
            self._check_revision()
            self.empty = False
        except SQLAlchemyError as exc:
            raise BenchError(f"cannot open database {self.url}: {first_line(exc)}; pass --db with a writable "
                             "SQLite path or a reachable database URL") from None

    def _create(self) -> None:
        """Build the schema; several processes starting on one new database create it once (the first to take
        the write lock, or PostgreSQL's advisory lock, does it; the others find it made)."""
        with self.engine.execution_options(immediate=True).begin() as connection:
            if self.engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CREATE_LOCK})")
            if "bench_meta" in inspect(connection).get_table_names():
                return
            Base.metadata.create_all(connection)
            connection.execute(Meta.__table__.insert().values(key="schema_version", value=str(SCHEMA_VERSION)))
            migrate.stamp_head(connection)
        use_wal(self.engine)

    def _check_revision(self) -> None:
        with self.engine.connect() as connection:
            found = migrate.current(connection)
        head = migrate.head()
        if found == head:
            return
        if found in migrate.revisions():
            raise BenchError(f"database {self.url} is at schema revision {found}, this bench needs {head}; upgrade "
                             f"it with `python -m bench db upgrade --db {self.url}` (back it up first)")
        raise BenchError(f"database {self.url} has schema revision {found}, which this bench does not know (made "
                         "by a newer bench?); upgrade bench or use another --db")

    @contextmanager
    def session(self, write: bool = False) -> Iterator[Session]:
        """Commit on success, roll back on any error; database errors become one-line user errors. A `write`
        session takes SQLite's write lock when it begins (BEGIN IMMEDIATE)."""
        if write and self.read_only:
            raise BenchError(f"database {self.url} was opened read-only; nothing can be written through it")
        session = (self._writes if write else self._sessions)()
        try:
            yield session
            if not self.read_only:
                session.commit()
        except SQLAlchemyError as exc:
            roll_back(session)
            if server_lost(self.engine.dialect.name, exc):
                raise Disconnected(f"database server {self.url} went away ({first_line(exc)}) and did not come "
                                   f"back within {self.reconnect_seconds:g} s; check that it is running") from None
            raise BenchError(f"database error on {self.url}: {first_line(exc)}; check that it is writable "
                             "and not in use") from None
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def claim(self, identity: RunIdentity, stale_after: timedelta, rerun: bool = False) -> str | None:
        """Start a `running` run of `identity`'s cell and return its id, or None when the cell is already done
        (unless `rerun`) or is being run by a live process. An abandoned run of the cell is marked so first.

        Atomic across processes and machines: SQLite serialises it with BEGIN IMMEDIATE, and everywhere the
        partial unique index admits one running run per cell, so a concurrent claim fails and returns None."""
        return self._claim(identity, stale_after, rerun, str(uuid.uuid4()))

    @reconnecting
    def _claim(self, identity: RunIdentity, stale_after: timedelta, rerun: bool, run_id: str) -> str | None:
        """One try at `claim`, with the run id fixed across the tries: a retry after a cut commit that landed
        finds its own row and goes on with it."""
        now = _now()
        with self.session(write=True) as session:
            query = select(Run).where(*in_cell(identity.cell), Run.status.in_(("running", "completed")))
            for run in session.scalars(query):
                if run.status == "completed" and not rerun:
                    return None
                if run.id == run_id:  # this claim's own commit landed before the connection was cut
                    return run_id
                if run.status == "running":
                    if not liveness.abandoned(run.status, run.host, run.pid, run.heartbeat_at, now,
                                                          stale_after):
                        return None
                    run.status, run.ended_at = "abandoned", now
                    run.error = f"abandoned: {run.host}:{run.pid} stopped (last heartbeat {run.heartbeat_at})"
            session.flush()  # frees the cell's live slot before the new run takes it
            session.add(running_row(run_id, identity, now))
            try:
                session.flush()
            except IntegrityError:  # another process claimed the cell between our read and our insert
                session.rollback()
                return None
        return run_id

    @reconnecting
    def start_run(self, identity: RunIdentity) -> str:
        """Store a `running` run of `identity` without looking at its cell (the runner claims instead): for
        importing results and for tests."""
        run_id = str(uuid.uuid4())
        with self.session(write=True) as session:
            session.add(running_row(run_id, identity, _now()))
        return run_id

    def heartbeat(self, run_id: str) -> None:
        with self.session(write=True) as session:
            session.execute(update(Run).where(Run.id == run_id, Run.status == "running").values(heartbeat_at=_now()))

    @reconnecting
    def cell_states(self, suite: str, stale_after: timedelta) -> dict[Cell, set[str]]:
        """Each cell of `suite` with a completed, running or abandoned (running, but its process is gone) run."""
        if self.empty:
            return {}
        now, out = _now(), {}
        with self.session() as session:
            query = select(Run.config_hash, Run.hardware_hash, Run.status, Run.host, Run.pid, Run.heartbeat_at).where(
                Run.suite == suite, Run.status.in_(("running", "completed")))
            for config_hash, hardware_hash, status, host, pid, heartbeat_at in session.execute(query):
                gone = liveness.abandoned(status, host, pid, heartbeat_at, now, stale_after)
                out.setdefault(Cell(suite, config_hash, hardware_hash), set()).add("abandoned" if gone else status)
        return out

    @reconnecting
    def complete_run(self, run_id: str, results: dict[str, Any], curve: Sequence[dict],
                     ranks: np.ndarray, intent_ranks: np.ndarray, step_seconds: np.ndarray | None = None) -> None:
        """Store a finished run's results, curve, ranks and step times (none if it did not train) in one
        transaction."""
        with self.session(write=True) as session:
            run = session.get(Run, run_id)
            if run.status != "running":  # completed already (a retried commit that had landed), or taken over
                return
            for key, value in results.items():
                setattr(run, key, value)
            run.status, run.ended_at = "completed", _now()
            session.add_all(CurvePoint(run_id=run_id, **point) for point in curve)
            session.add(QueryRanks(run_id=run_id, ranks=np.asarray(ranks, np.int32).tobytes(),
                                   intent_ranks=np.asarray(intent_ranks, np.int32).tobytes()))
            if step_seconds is not None and len(step_seconds):
                session.add(StepTimes(run_id=run_id, seconds=np.asarray(step_seconds, np.float32).tobytes()))

    @reconnecting
    def fail_run(self, run_id: str, error: str) -> None:
        with self.session(write=True) as session:
            run = session.get(Run, run_id)
            if run is not None:
                run.status, run.ended_at, run.error = "failed", _now(), error[:2000]

    @reconnecting
    def abandon_run(self, run_id: str, why: str) -> None:
        """A run stopped from outside (preempted, cancelled, interrupted): abandoned now, so its cell is free for
        any worker at once rather than once its heartbeat goes stale."""
        with self.session(write=True) as session:
            run = session.get(Run, run_id)
            if run is not None and run.status == "running":
                run.status, run.ended_at = "abandoned", _now()
                run.error = f"abandoned: {liveness.HOST}:{os.getpid()} {why}"[:2000]

    @reconnecting
    def unfinished(self, stale_after: timedelta) -> list[tuple[Run, str]]:
        """Runs that are not results, newest first, each with what it is now: running, abandoned (its process is
        gone or silent; computed here, so a read-only reader sees it too) or failed."""
        if self.empty:
            return []
        now, out = _now(), []
        with self.session() as session:
            query = select(Run).where(Run.status.in_(("running", "abandoned", "failed")))
            for run in session.scalars(query.order_by(Run.started_at.desc(), Run.id)):
                gone = liveness.abandoned(run.status, run.host, run.pid, run.heartbeat_at, now, stale_after)
                out.append((run, "abandoned" if gone else run.status))
        return out

    @reconnecting
    def runs(self, status: str | None = "completed", **filters: Any) -> list[Run]:
        """Runs matching column filters (a value or a list of values), oldest first."""
        if self.empty:
            return []
        with self.session() as session:
            return list(session.scalars(where_runs(select(Run), status, filters)))

    @reconnecting
    def run_columns(self, columns: Sequence[str], status: str | None = "completed",
                    **filters: Any) -> list[tuple]:
        """Only the named columns of the runs `runs()` would return, as tuples in the same order.

        Listing thousands of runs (the dashboard's filter choices) this way skips building ORM objects
        and loading their settings and environment, which is most of the cost.
        """
        if self.empty:
            return []
        with self.session() as session:
            return [tuple(row) for row in session.execute(where_runs(select(*(getattr(Run, c) for c in columns)),
                                                                 status, filters))]

    @reconnecting
    def _per_run(self, table: type[QueryRanks] | type[StepTimes], run_ids: Sequence[str],
                 decode: Callable[[Any], Any]) -> dict[str, Any]:
        """`decode(row)` for each of `run_ids` with a row in `table` (a one-row-per-run table of arrays)."""
        if self.empty or not run_ids:
            return {}
        out = {}
        with self.session() as session:
            for chunk in chunks(list(run_ids), 500):
                for row in session.scalars(select(table).where(table.run_id.in_(chunk))):
                    out[row.run_id] = decode(row)
        return out

    def ranks(self, run_ids: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        return self._per_run(QueryRanks, run_ids, lambda row: (np.frombuffer(row.ranks, np.int32),
                                                               np.frombuffer(row.intent_ranks, np.int32)))

    def step_times(self, run_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Each run's per-step seconds (float32), for the runs that have them (not those stored before bench
        kept them, nor those that did not train)."""
        return self._per_run(StepTimes, run_ids, lambda row: np.frombuffer(row.seconds, np.float32))

    @reconnecting
    def curves(self, run_ids: Sequence[str]) -> dict[str, list[CurvePoint]]:
        if self.empty or not run_ids:
            return {}
        out: dict[str, list[CurvePoint]] = {run_id: [] for run_id in run_ids}
        with self.session() as session:
            for chunk in chunks(list(run_ids), 500):
                query = select(CurvePoint).where(CurvePoint.run_id.in_(chunk)).order_by(CurvePoint.step)
                for point in session.scalars(query):
                    out[point.run_id].append(point)
        return out

    @reconnecting
    def record_plan(self, suite: str, cells: Sequence[Sequence]) -> None:
        """The suite's cells by name, as this process plans them (the newest plan replaces the last: a round of
        `--until-decided` adds seeds)."""
        values = {"suite": suite, "cells": [list(cell) for cell in cells], "planned_at": _now(),
                  "planned_by": f"{liveness.HOST}:{os.getpid()}"}
        upsert = UPSERTS.get(self.engine.dialect.name)
        with self.session(write=True) as session:
            if upsert is None:
                session.merge(SuitePlan(**values))
            else:  # workers starting together: one insert, the others update it (no primary-key clash)
                session.execute(upsert(SuitePlan).values(**values).on_conflict_do_update(
                    index_elements=[SuitePlan.suite], set_={k: v for k, v in values.items() if k != "suite"}))

    @reconnecting
    def plan(self, suite: str) -> list[list] | None:
        """The suite's newest stored plan (see `record_plan`), or None if no process has started it here."""
        if self.empty:
            return None
        with self.session() as session:
            found = session.get(SuitePlan, suite)
            return None if found is None else [list(cell) for cell in found.cells]

    @reconnecting
    def planned_suites(self) -> list[str]:
        """The suites with a stored plan, by name."""
        if self.empty:
            return []
        with self.session() as session:
            return list(session.scalars(select(SuitePlan.suite).order_by(SuitePlan.suite)))

    @reconnecting
    def peak_flops(self, hardware_hash: str, dtype: str) -> float | None:
        """The machine's measured dense-matmul FLOP/s for `dtype`, if it was measured."""
        if self.empty:
            return None
        with self.session() as session:
            found = session.get(HardwarePeak, (hardware_hash, dtype))
            return None if found is None else found.matmul_flops

    def record_peak_flops(self, hardware_hash: str, dtype: str, device_name: str,
                          measure: Callable[[], float]) -> float:
        """The peak for this hardware fingerprint: measured (by `measure`) the first time only, and kept."""
        found = self._measured_once(HardwarePeak, (hardware_hash, dtype), lambda: HardwarePeak(
            hardware_hash=hardware_hash, dtype=dtype, device_name=device_name, matmul_flops=measure(),
            measured_at=_now()))
        return found.matmul_flops

    def record_step_prices(self, hardware_hash: str, setup: dict, measure: Callable[[], dict]) -> dict:
        """The step prices for this hardware and setup: measured (by `measure`) the first time only, and kept."""
        found = self._measured_once(StepPriceRecord, (hardware_hash, stable_hash(setup)), lambda: StepPriceRecord(
            hardware_hash=hardware_hash, setup_hash=stable_hash(setup), setup=setup, prices=measure(),
            measured_at=_now()))
        return dict(found.prices)

    @reconnecting
    def _measured_once(self, model: type[Base], key: tuple, measure: Callable[[], Base]) -> Base:
        """The row of `model` at `key`, measured and added the first time only.

        Workers started together on one machine must not all measure at once: each would time its work while the
        others load the cores, and the first to store its figure would keep one several times too slow. So one
        measures while holding the database's write lock (SQLite) or an advisory lock (PostgreSQL), and the
        others wait for it and read its figure."""
        if not self.empty:
            with self.session() as session:
                found = session.get(model, key)
                if found is not None:
                    session.expunge(found)
                    return found
        with self.session(write=True) as session:
            if self.engine.dialect.name == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(PEAK_LOCK)))
            found = session.get(model, key)
            if found is None:  # else another worker measured while this one waited
                found = measure()
                session.add(found)
                session.flush()
            session.expunge(found)
            return found

    @reconnecting
    def last_modified(self) -> str:
        """A cheap token that changes whenever results change (for dashboard cache invalidation); with SQLite's
        write-ahead log, new commits land in the -wal file first."""
        path = sqlite_path(self.url)
        if path is not None and path.exists():
            files = [path, path.with_name(path.name + "-wal")]
            return ";".join(f"{f.stat().st_mtime_ns}:{f.stat().st_size}" for f in files if f.exists())
        if self.empty:
            return "empty"
        with self.session() as session:
            latest = session.scalars(select(Run.ended_at).order_by(Run.ended_at.desc()).limit(1)).first()
            count = len(session.scalars(select(Run.id)).all())
        return f"{latest}:{count}"
