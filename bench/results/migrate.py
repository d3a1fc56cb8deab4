"""Schema versions through Alembic. A new database is created at the newest revision; an older one is upgraded
only when the user asks (`python -m bench db upgrade`), never behind their back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import SQLAlchemyError

from bench.errors import BenchError, first_line
from bench.results.engine import engine_for, sqlite_path, use_wal

SCRIPTS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001"  # what bench 0.1 created with create_all, before it had migrations


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def revisions() -> set[str]:
    return {script.revision for script in ScriptDirectory.from_config(_config()).walk_revisions()}


def current(connection: Connection) -> str | None:
    """The database's revision; a bench database from before migrations is the baseline; None if not bench's."""
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None and "bench_meta" in inspect(connection).get_table_names():
        return BASELINE
    return revision


def stamp_head(connection: Connection) -> None:
    """Mark a database that `create_all` just built from the models as being at the newest revision."""
    command.stamp(_config(connection), "head")


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """Bring the database to the newest revision in one transaction; returns (revision before, after)."""
    with engine.begin() as connection:
        before = current(connection)
        config = _config(connection)
        if before == BASELINE and MigrationContext.configure(connection).get_current_revision() is None:
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
        return before, current(connection)


def upgrade_database(url: str) -> tuple[str, str]:
    """`python -m bench db upgrade`: bring a database made by an older bench to this bench's schema, rows kept;
    returns the revisions before and after."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise BenchError(f"database {path} does not exist; nothing to upgrade")
    # Without bench's SQLite hooks, so foreign keys stay off: a batch migration copies a table and drops the old
    # one, and with them on, ON DELETE CASCADE would empty the curve and rank tables on the way.
    engine = engine_for(url, read_only=False, hooks=False)
    try:
        with engine.connect() as connection:
            found = current(connection)
        if found is None:
            raise BenchError(f"database {url} is not a bench database (no bench_meta table); nothing to upgrade")
        if found not in revisions():
            raise BenchError(f"database {url} has schema revision {found}, newer than this bench knows; upgrade bench")
        before_and_after = upgrade(engine)
        use_wal(engine)
        return before_and_after
    except SQLAlchemyError as exc:
        raise BenchError(f"cannot upgrade database {url}: {first_line(exc)}") from None
    finally:
        engine.dispose()
