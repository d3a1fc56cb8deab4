"""Each suite's plan: every cell it asks for, by name (model, data fraction, seed, strategy label, rank count),
written by each process that starts the suite, so `bench status` and the dashboard count its cells done, running
and pending from the database alone, whatever seeds or strategies the command line chose.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table("suite_plans",
                    sa.Column("suite", sa.String(128), primary_key=True),
                    sa.Column("cells", sa.JSON(), nullable=False),
                    sa.Column("planned_at", sa.DateTime(), nullable=False),
                    sa.Column("planned_by", sa.String(300), nullable=False))
    op.execute("UPDATE bench_meta SET value = '7' WHERE key = 'schema_version'")


def downgrade() -> None:
    op.drop_table("suite_plans")
    op.execute("UPDATE bench_meta SET value = '6' WHERE key = 'schema_version'")
