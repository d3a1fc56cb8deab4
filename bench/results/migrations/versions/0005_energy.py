"""Each run's training energy in joules, its source (`counter`: NVML or RAPL; `estimated`: the CPU-time power
model) and the meter that read it, and the energy spent by each dev-curve point (energy-to-target). Runs stored
before this have none: they show "not measured", never zero.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("runs") as runs:
        runs.add_column(sa.Column("energy_joules", sa.Float(), nullable=True))
        runs.add_column(sa.Column("energy_source", sa.String(16), nullable=True))
        runs.add_column(sa.Column("energy_meter", sa.String(128), nullable=True))
    with op.batch_alter_table("curve_points") as points:
        points.add_column(sa.Column("joules", sa.Float(), nullable=True))
    op.execute("UPDATE bench_meta SET value = '5' WHERE key = 'schema_version'")


def downgrade() -> None:
    with op.batch_alter_table("curve_points") as points:
        points.drop_column("joules")
    with op.batch_alter_table("runs") as runs:
        runs.drop_column("energy_meter")
        runs.drop_column("energy_source")
        runs.drop_column("energy_joules")
    op.execute("UPDATE bench_meta SET value = '4' WHERE key = 'schema_version'")
