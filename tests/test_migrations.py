"""Schema changes go through Alembic: the migrations build exactly the models' tables, a v1 database made by
bench 0.1 is refused until `bench db upgrade` brings it forward with its rows intact, and a newer one is refused."""

from __future__ import annotations

import gzip
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from bench.errors import BenchError
from bench.results import migrate
from bench.results.models import Base
from bench.results.store import Store
from tests.support.cli import bench
from tests.support.stored import add_run

V1 = Path(__file__).parent / "data" / "v1_smoke.sql.gz"  # `sqlite3 .dump` of a smoke suite's database, bench 0.1


def v1_database(folder: Path) -> Path:
    path = folder / "v1.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(gzip.open(V1, "rt").read())
    return path


def table_rows(path: Path, table: str, columns: str = "*") -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"select {columns} from {table} order by 1, 2").fetchall()


def assert_models_match_migrations(url: str) -> None:
    engine = create_engine(url)
    try:
        assert migrate.upgrade(engine) == (None, migrate.head())
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        engine.dispose()


def test_migrations_build_exactly_the_models_tables_on_sqlite(tmp_path):
    assert_models_match_migrations(f"sqlite:///{tmp_path}/m.db")


def test_migrations_build_exactly_the_models_tables_on_postgresql(pg_url):
    assert_models_match_migrations(pg_url)


@pytest.mark.slow
def test_a_v1_database_is_refused_untouched_then_upgraded_with_its_rows_intact(tmp_path):
    path = v1_database(tmp_path)
    before = path.read_bytes()
    v1_runs = table_rows(path, "runs")
    v1_curves, v1_ranks = table_rows(path, "curve_points"), table_rows(path, "query_ranks")
    curve_columns = ", ".join(_columns(path, "curve_points"))
    url = f"sqlite:///{path}"
    with pytest.raises(BenchError, match=r"schema revision 0001, this bench needs 0007; upgrade it with "
                                         r"`python -m bench db upgrade"):
        Store(url)
    refused = bench("report", "--db", url)
    assert refused.returncode == 2 and "bench db upgrade" in refused.stderr and "Traceback" not in refused.stderr
    assert path.read_bytes() == before  # refused, not touched

    upgraded = bench("db", "upgrade", "--db", url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "schema revision 0001 -> 0007" in upgraded.stdout
    assert table_rows(path, "runs", ", ".join(_v1_columns(path))) == v1_runs
    assert table_rows(path, "curve_points", curve_columns) == v1_curves
    assert table_rows(path, "query_ranks") == v1_ranks
    assert table_rows(path, "bench_meta") == [("schema_version", "7")]
    assert table_rows(path, "hardware_peaks") == [] and table_rows(path, "suite_plans") == []
    assert table_rows(path, "step_times") == []  # v1 runs have no step times: the report falls back to wall-clock
    assert len(Store(url, read_only=True).runs()) == 8
    again = bench("db", "upgrade", "--db", url)
    assert again.returncode == 0 and "already at 0007" in again.stdout
    report = bench("report", "--db", url, "--format", "json")
    assert report.returncode == 0 and '"strategy": "drop-freeze(drop=1, freeze=2)"' in report.stdout


def test_a_database_from_a_newer_bench_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/new.db"
    Store(url)
    with sqlite3.connect(tmp_path / "new.db") as conn:
        conn.execute("update alembic_version set version_num = '9999'")
    with pytest.raises(BenchError, match="which this bench does not know"):
        Store(url)
    with pytest.raises(BenchError, match="newer than this bench knows"):
        from bench.results.migrate import upgrade_database

        upgrade_database(url)


def test_upgrade_refuses_what_is_not_a_bench_database(tmp_path):
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("create table other (x int)")
    result = bench("db", "upgrade", "--db", f"sqlite:///{foreign}")
    assert result.returncode == 2 and "not a bench database" in result.stderr
    missing = bench("db", "upgrade", "--db", f"sqlite:///{tmp_path}/missing.db")
    assert missing.returncode == 2 and "does not exist" in missing.stderr


def _columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute(f"pragma table_info({table})")]


def _v1_columns(path: Path) -> list[str]:
    later = {"host", "pid", "heartbeat_at", "work", "energy_joules", "energy_source", "energy_meter"}
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute("pragma table_info(runs)") if row[1] not in later]


def test_step_times_go_with_their_run(tmp_path):
    """0003's table: a run's step seconds read back as float32, and deleting the run deletes them (cascade)."""
    url = f"sqlite:///{tmp_path}/s.db"
    store = Store(url)
    run_id = add_run(store, "baseline", {}, 0, 3.0, 1.0, step_seconds=[1.0, 0.5, 1.5])
    assert store.step_times([run_id])[run_id].tolist() == [1.0, 0.5, 1.5]
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("pragma foreign_keys=on")
        conn.execute("delete from runs")
    assert table_rows(tmp_path / "s.db", "step_times") == [] and store.step_times([run_id]) == {}
