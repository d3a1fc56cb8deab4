"""Engines for results databases: SQLite read-only through mode=ro, writers in write-ahead-log mode that wait for
each other's locks, BEGIN IMMEDIATE for writes, PostgreSQL readers in read-only transactions; a bad URL or a
missing driver is a one-line user error."""

from __future__ import annotations

import sqlite3
import warnings
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SAWarning

from bench.errors import BenchError

BUSY_SECONDS = 60  # SQLite: a writer waits this long for another writer's lock instead of failing


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def _sqlite_connect(connection) -> None:
    """pysqlite's own transaction handling is off, so bench's BEGIN (below) is the one that counts."""
    connection.isolation_level = None
    connection.execute("PRAGMA foreign_keys=ON")


def use_wal(engine) -> None:
    """Put a SQLite file bench made (or upgraded) in write-ahead-log mode, for good: readers (the dashboard) never
    block writers, nor the reverse. Outside any transaction, as SQLite requires."""
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        try:
            connection.connection.driver_connection.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError:  # busy with another process's start: it stays correct, just less concurrent
            pass


def _sqlite_begin(connection) -> None:
    """BEGIN IMMEDIATE for writes takes the write lock up front: two writers queue on the busy timeout instead of
    deadlocking when both try to upgrade a read lock; reads begin deferred and never block."""
    immediate = connection.get_execution_options().get("immediate", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def engine_for(url: str, read_only: bool, hooks: bool = True):
    """An engine for `url` (SQLite read-only through mode=ro); a bad URL (one the driver would half-ignore, e.g.
    ?foo=bar, included) or a missing driver is a user error."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SAWarning)
            engine = _create_engine(url, read_only)
            return _listening(engine) if hooks else engine
    except SAWarning as exc:
        reason = str(exc).split(" (Background on this")[0]
        raise BenchError(f"bad database URL {url!r} ({reason}); use e.g. sqlite:///results.db") from None


def _create_engine(url: str, read_only: bool):
    try:
        path = sqlite_path(url)
        if read_only and path is not None:
            if not path.exists():
                raise BenchError(f"database {path} does not exist; run `python -m bench run` first")
            uri = f"file:{path.resolve()}?mode=ro"
            engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=BUSY_SECONDS))
        else:
            if path is not None and not path.parent.exists():
                raise BenchError(f"cannot create database {path}: folder {path.parent} does not exist; "
                                 "pass --db with a writable location")
            # a server's pooled connections are tested as they are taken: after a restart, stale ones are
            # replaced instead of failing the next call (bench/results/store.py retries the one that was cut)
            engine = create_engine(url, connect_args=_connect_args(url, path, read_only), pool_pre_ping=path is None)
    except (ArgumentError, ValueError) as exc:
        raise BenchError(f"bad database URL {url!r} ({exc}); use e.g. sqlite:///results.db") from None
    except ImportError as exc:
        raise BenchError(f"database driver for {url!r} is not installed ({exc}); install it") from None
    return engine


def _connect_args(url: str, path: Path | None, read_only: bool) -> dict:
    """SQLite: wait for locks. PostgreSQL read-only (the dashboard, report, check, export): every transaction is
    READ ONLY on the server, so a reader can never write, as with SQLite's mode=ro."""
    if path is not None:
        return {"timeout": BUSY_SECONDS}
    if read_only and make_url(url).get_backend_name() == "postgresql":
        return {"options": "-c default_transaction_read_only=on"}
    return {}


def _listening(engine):
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", lambda conn, _: _sqlite_connect(conn))
        event.listen(engine, "begin", _sqlite_begin)
    return engine
