"""Riding out a database server that goes away: a restart, a failover, connections dropped under the workers.

SQLAlchemy's pool pre-ping (bench/results/engine.py) replaces dead connections before they are used; what it
leaves to its caller is the transaction that was cut, and that is retried here (tenacity), each store call being
one transaction made idempotent where a cut commit may have landed."""

from __future__ import annotations

import functools
from collections.abc import Callable

import tenacity
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from bench.errors import BenchError

RECONNECT_SECONDS = 300.0
"""How long a store call waits for a database server that went away (a restart, a failover, dropped connections)
before it gives up with a one-line error: every worker rides out a restart and goes on."""


class Disconnected(BenchError):
    """The database server went away mid-call (it is restarting, or dropped the connection): the call is tried
    again, on a fresh connection, until it answers or `RECONNECT_SECONDS` pass."""


def reconnecting(method: Callable) -> Callable:
    """A store call that rides out a server restart: run again while it raises `Disconnected`, backing off up to
    5 s between tries (SQLAlchemy's pool pre-ping replaces the dead connections; this retries the transaction
    that was cut, which SQLAlchemy leaves to its caller). Each call is one transaction, made idempotent where a
    cut commit may have landed (claim, complete_run)."""
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        retrying = tenacity.Retrying(retry=tenacity.retry_if_exception_type(Disconnected), reraise=True,
                                     stop=tenacity.stop_after_delay(self.reconnect_seconds),
                                     wait=tenacity.wait_exponential(multiplier=0.25, max=5.0))
        return retrying(method, self, *args, **kwargs)
    return call


def server_lost(dialect: str, exc: SQLAlchemyError) -> bool:
    """A server (not SQLite, whose errors are the file's) that dropped the connection or refuses new ones while it
    restarts."""
    if dialect == "sqlite" or not isinstance(exc, DBAPIError):
        return False
    return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError))


def roll_back(session: Session) -> None:
    """Roll back; on a connection the server dropped there is nothing left to roll back."""
    try:
        session.rollback()
    except SQLAlchemyError:
        pass
