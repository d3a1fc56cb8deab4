"""Runs say who is running them: host, process id and a heartbeat, so an abandoned run is seen, and at most one
live run per cell (suite, configuration, hardware) so several workers never train the same cell twice. Sizes in
bytes and parameters become 64-bit: PostgreSQL's INTEGER overflows at 2 GiB of peak memory.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
LIVE = sa.text("status = 'running'")
SIZES = ("peak_memory_bytes", "total_params", "trainable_params")


def upgrade() -> None:
    with op.batch_alter_table("runs") as runs:
        runs.add_column(sa.Column("host", sa.String(256), nullable=True))
        runs.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        runs.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
        for column in SIZES:
            runs.alter_column(column, type_=sa.BigInteger(), existing_type=sa.Integer(), existing_nullable=True)
    # Runs left `running` by bench 0.1 have no heartbeat: they are abandoned, and would block their cell.
    op.execute("UPDATE runs SET status = 'abandoned' WHERE status = 'running'")
    op.create_index("uq_runs_live_cell", "runs", ["suite", "config_hash", "hardware_hash"], unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)
    op.execute("UPDATE bench_meta SET value = '2' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_index("uq_runs_live_cell", "runs")
    with op.batch_alter_table("runs") as runs:
        for column in ("heartbeat_at", "pid", "host"):
            runs.drop_column(column)
        for column in SIZES:
            runs.alter_column(column, type_=sa.Integer(), existing_type=sa.BigInteger(), existing_nullable=True)
    op.execute("UPDATE bench_meta SET value = '1' WHERE key = 'schema_version'")
