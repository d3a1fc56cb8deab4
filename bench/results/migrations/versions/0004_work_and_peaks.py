"""Each run's work ledger (what its steps really computed: layers forward and backward, skipped layers, optimizer
parameters, tokens, FLOPs), and each machine's measured dense-matmul peak, kept once per hardware fingerprint.
Runs stored before this have no ledger; their ideal speedup stays the static FLOP model's.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("runs") as runs:
        runs.add_column(sa.Column("work", sa.JSON(), nullable=True))
    op.create_table("hardware_peaks",
                    sa.Column("hardware_hash", sa.String(64), primary_key=True),
                    sa.Column("dtype", sa.String(16), primary_key=True),
                    sa.Column("device_name", sa.String(256), nullable=False),
                    sa.Column("matmul_flops", sa.Float(), nullable=False),
                    sa.Column("measured_at", sa.DateTime(), nullable=False))
    op.execute("UPDATE bench_meta SET value = '4' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_table("hardware_peaks")
    with op.batch_alter_table("runs") as runs:
        runs.drop_column("work")
    op.execute("UPDATE bench_meta SET value = '3' WHERE key = 'schema_version'")
