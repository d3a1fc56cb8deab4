"""Each machine's measured step prices (bench.model.prices): seconds per token of each kind of layer pass, of the
embeddings, per step of the head and per parameter of the optimizer, timed once per hardware fingerprint and
training setup (model, precision, layout, batch and sequence length), so the ideal speedup prices what the
hardware really spends. Runs stored before this keep the FLOP model's ideal.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table("step_prices",
                    sa.Column("hardware_hash", sa.String(64), primary_key=True),
                    sa.Column("setup_hash", sa.String(64), primary_key=True),
                    sa.Column("setup", sa.JSON(), nullable=False),
                    sa.Column("prices", sa.JSON(), nullable=False),
                    sa.Column("measured_at", sa.DateTime(), nullable=False))
    op.execute("UPDATE bench_meta SET value = '6' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_table("step_prices")
    op.execute("UPDATE bench_meta SET value = '5' WHERE key = 'schema_version'")
