"""Alembic environment: bench runs migrations on a connection it opened itself (no alembic.ini, no URL here)."""

from alembic import context

connection = context.config.attributes["connection"]
# Batch mode lets SQLite, which cannot alter most things in place, take the same migrations as PostgreSQL.
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
