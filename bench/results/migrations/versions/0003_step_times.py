"""Each run's per-step training seconds, so time reductions can pair steps and trim bursts of background load.
Runs stored before this have none; the leaderboard falls back to their wall-clock reduction.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table("step_times",
                    sa.Column("run_id", sa.String(36), sa.ForeignKey("runs.id", ondelete="CASCADE"),
                              primary_key=True),
                    sa.Column("seconds", sa.LargeBinary(), nullable=False))
    op.execute("UPDATE bench_meta SET value = '3' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_table("step_times")
    op.execute("UPDATE bench_meta SET value = '2' WHERE key = 'schema_version'")
