"""Schema versions through Alembic. A new database is created at the newest revision; an older one is upgraded
only when the user asks (`python -m bench db upgrade`), never behind their back."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect

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
