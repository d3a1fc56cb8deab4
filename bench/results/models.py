"""The results schema as SQLAlchemy 2.0 models. Changes to it go through an Alembic migration
(bench/results/migrations), and a test checks that the migrations build exactly these tables."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bench.metrics import CURVE_METRICS, METRICS
from bench.results.columns import DECLARED as RESULT_COLUMNS


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "bench_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


LIVE = text("status = 'running'")


class Run(Base):
    """One strategy x model x data fraction x seed, with everything needed to reproduce and compare it.

    `status` is running, completed, failed or abandoned; a running run names its host and process and keeps a
    heartbeat, and at most one run of a cell is running at a time (the partial unique index). Its result columns
    come from the catalogue (bench.results.columns) and its metrics' from bench.metrics, added below."""

    __tablename__ = "runs"
    __table_args__ = (Index("uq_runs_live_cell", "suite", "config_hash", "hardware_hash", unique=True,
                            sqlite_where=LIVE, postgresql_where=LIVE),)
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
    headline_metric: Mapped[str] = mapped_column(String(32), default="mrr")
    host: Mapped[str | None] = mapped_column(String(256), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    work: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    """The work ledger's totals (bench.model.ledger): what the steps really computed; None before bench kept it."""

    def metrics(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in METRICS}


class CurvePoint(Base):
    """Dev-split relevance during training, measured outside the timed region."""

    __tablename__ = "curve_points"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    seconds: Mapped[float] = mapped_column(Float)
    headline: Mapped[float] = mapped_column(Float)
    joules: Mapped[float | None] = mapped_column(Float, nullable=True)  # training energy so far; None: no meter


# One column per result column (bench.results.columns) and per declared metric (bench.metrics): test-set means on
# runs, the curve's metrics on points.
for _column in RESULT_COLUMNS:
    setattr(Run, _column.name, mapped_column(_column.name, _column.sql_type(), nullable=True))
for _name in METRICS:
    setattr(Run, _name, mapped_column(_name, Float, nullable=True))
for _name in CURVE_METRICS:
    setattr(CurvePoint, _name, mapped_column(_name, Float, nullable=False))


class QueryRanks(Base):
    """Per-test-query ranks, kept for paired per-query intervals (int32 arrays as bytes)."""

    __tablename__ = "query_ranks"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    ranks: Mapped[bytes] = mapped_column(LargeBinary)
    intent_ranks: Mapped[bytes] = mapped_column(LargeBinary)


class StepTimes(Base):
    """Each training step's seconds (float32 array as bytes), kept so a time reduction can pair steps and cut
    out bursts of background load (bench.analysis.timing); none for a run that did not train."""

    __tablename__ = "step_times"
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    seconds: Mapped[bytes] = mapped_column(LargeBinary)


class HardwarePeak(Base):
    """A machine's dense-matmul rate, measured once per hardware fingerprint and dtype: the physical limit a
    training loop's achieved FLOP/s is read against."""

    __tablename__ = "hardware_peaks"
    hardware_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    dtype: Mapped[str] = mapped_column(String(16), primary_key=True)
    device_name: Mapped[str] = mapped_column(String(256))
    matmul_flops: Mapped[float] = mapped_column(Float)
    measured_at: Mapped[datetime] = mapped_column(DateTime)


class StepPriceRecord(Base):
    """A machine's measured step prices (bench.model.prices) for one training setup: what the ideal speedup
    prices a step's work with, timed once per hardware fingerprint and setup."""

    __tablename__ = "step_prices"
    hardware_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    setup_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    setup: Mapped[dict] = mapped_column(JSON)
    prices: Mapped[dict] = mapped_column(JSON)
    measured_at: Mapped[datetime] = mapped_column(DateTime)


class SuitePlan(Base):
    """A suite's cells by name ([model, data fraction, seed, label, ranks] each), as the newest process to start
    it planned them: what `bench status` counts the runs against (bench.analysis.progress)."""

    __tablename__ = "suite_plans"
    suite: Mapped[str] = mapped_column(String(128), primary_key=True)
    cells: Mapped[list] = mapped_column(JSON)
    planned_at: Mapped[datetime] = mapped_column(DateTime)
    planned_by: Mapped[str] = mapped_column(String(300))
