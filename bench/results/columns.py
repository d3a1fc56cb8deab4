"""The result columns, each declared once: what a run measured beyond its relevance metrics (bench.metrics).

The store's columns on `runs` (bench.results.models), the leaderboard row's fields (bench.analysis.rows) and so
the JSON and CSV export, the report table (bench.render.tables), the MLflow export (bench.results.to_mlflow) and
the dashboard (dashboard/) all derive from `DECLARED`. A new result column is one entry here, filled where a run's
results are produced (`Measurement.results`); a column in the store needs its Alembic migration too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Float, Integer, String
from sqlalchemy.types import TypeEngine

ROW_AGGREGATES = ("mean", "max", "first", "own")


@dataclass(frozen=True)
class Column:
    """One result quantity and its names: `table` (the report's heading), `dashboard` (the dashboard leaderboard's
    heading), `mlflow` (the MLflow metric), each the column's name unless given, None to leave it out there.
    `row`: how the leaderboard row takes the seeds (mean, max with None as 0, the first seed's, or `own`: the
    analysis fills it itself); None: not on the row, so not in the JSON either. `record`: shown in the dashboard's
    run details. A new column reaches all of them by default; the opt-outs below keep what each showed before."""

    name: str
    kind: type  # float, int or str
    unit: str  # "" for a count or a label
    description: str
    fmt: str = ""  # format spec of a shown value (report table; a float's also in the dashboard)
    better: str | None = None  # "higher", "lower", or None where neither is better
    size: int = 0  # a str's column length; 64 for an int that needs a 64-bit column
    row: str | None = "mean"
    table: str | None = ""
    dashboard: str | None = ""
    mlflow: str | None = ""
    record: bool = True

    def __post_init__(self) -> None:
        if self.row not in (*ROW_AGGREGATES, None):
            raise ValueError(f"result column {self.name}: row must be one of {ROW_AGGREGATES} or None")
        for export in ("table", "dashboard", "mlflow"):
            if getattr(self, export) == "":  # MLflow metrics are numbers: a label is not one
                object.__setattr__(self, export, None if export == "mlflow" and self.kind is str else self.name)

    def sql_type(self) -> TypeEngine:
        if self.kind is str:
            return String(self.size)
        if self.kind is int:
            return BigInteger() if self.size == 64 else Integer()
        return Float()

    def show(self, value: Any) -> str:
        """A value as the report table writes it; '-' for none."""
        return "-" if value is None else format(value, self.fmt)

    @property
    def printf(self) -> str:
        """The format as the dashboard's number columns take it (printf style)."""
        return f"%{self.fmt}"


_NOWHERE = {"table": None, "dashboard": None, "mlflow": None, "record": False}  # an opt-out from every export

DECLARED: tuple[Column, ...] = (
    Column("train_seconds", float, "s", "wall-clock seconds of the timed training region", ".1f", "lower",
           table="train s", dashboard="train s"),
    Column("eval_seconds", float, "s", "seconds of the test-set evaluation, outside the timed region", ".1f",
           "lower", table=None, dashboard=None, record=False),
    Column("device_hours", float, "h", "training seconds x devices, in hours", ".4f", "lower", table="device-h",
           dashboard="device-hours"),
    Column("peak_memory_bytes", int, "B", "peak memory while training (the largest rank's)", ",", "lower", 64,
           row="max", table=None, dashboard=None, record=False),
    Column("memory_kind", str, "", "what the peak memory measured (device allocator or process RSS)", size=32,
           row=None, **_NOWHERE),
    Column("samples_per_second", float, "pairs/s", "training pairs a second; none for a run that did not train",
           ".1f", "higher", table=None, dashboard=None, record=False),
    Column("steps", int, "", "training steps", ",", row="max", table=None, dashboard=None, mlflow=None),
    Column("energy_joules", float, "J", "the training region's energy; none where not measured (runs before "
           "0005, a GPU without NVML)", ".0f", "lower", row="own", table="energy", dashboard="energy J"),
    Column("energy_source", str, "", "`counter` (NVML, RAPL) or `estimated` (the CPU-time power model): never "
           "compared with each other", size=16, row="own", table=None, dashboard=None, mlflow=None),
    Column("energy_meter", str, "", "which meter read the energy", size=128, row=None, table=None, dashboard=None,
           mlflow=None),
    Column("layers", int, "", "encoder layers", row="first", mlflow=None),
    Column("trainable_params", int, "", "parameters the strategy trains", ",", size=64, row="first",
           table="trainable", dashboard="trainable params", mlflow=None),
    Column("train_pairs", int, "", "training pairs the run trained on (the data-size axis)", ",", row="first",
           **_NOWHERE),
    Column("total_params", int, "", "the model's parameters", ",", size=64, row="first", **_NOWHERE),
    Column("test_pairs", int, "", "test pairs evaluated", ",", row="first", **_NOWHERE),
    Column("test_left_out", int, "", "test pairs left out (their reply and intent are off the whitelist)", ",",
           row="first", **_NOWHERE),
    Column("ideal_speedup", float, "x", "the work done, priced at this machine's measured step prices (the FLOP "
           "model's for runs before them)", ".2f", "higher", table=None, dashboard=None, record=False),
)
BY_NAME: dict[str, Column] = {column.name: column for column in DECLARED}
NAMES: tuple[str, ...] = tuple(BY_NAME)
ON_ROW: tuple[Column, ...] = tuple(column for column in DECLARED if column.row)
RECORDED: tuple[str, ...] = tuple(column.name for column in DECLARED if column.record)
MLFLOW: tuple[Column, ...] = tuple(column for column in DECLARED if column.mlflow)


def arrange(cells: dict[str, Any], layout: tuple[str, ...]) -> dict[str, Any]:
    """`cells` in `layout`'s order, those it does not name (a column added to the catalogue) after them."""
    ordered = {key: cells[key] for key in layout if key in cells}
    return {**ordered, **{key: value for key, value in cells.items() if key not in ordered}}
