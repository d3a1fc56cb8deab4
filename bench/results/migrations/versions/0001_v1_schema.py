"""The v1 schema, as bench 0.1 created it with `create_all`: runs, their dev curves and per-query ranks.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table("bench_meta", sa.Column("key", sa.String(64), primary_key=True),
                    sa.Column("value", sa.String(256), nullable=False))
    text, real, whole, json = sa.String, sa.Float, sa.Integer, sa.JSON
    required = [("suite", text(128)), ("strategy", text(128)), ("label", text(256)), ("params", json()),
                ("task", text(128)), ("task_version", text(64)), ("task_hash", text(64)), ("model", text(512)),
                ("model_hash", text(64)), ("seed", whole()), ("train_fraction", real()),
                ("settings_hash", text(64)), ("config_hash", text(64)), ("settings", json()), ("status", text(16))]
    optional = [("error", text(2000)), ("ended_at", sa.DateTime())]
    hardware = [("started_at", sa.DateTime()), ("device_type", text(16)), ("device_name", text(256)),
                ("device_count", whole()), ("hardware_hash", text(64)), ("environment", json()),
                ("git_commit", text(64)), ("git_dirty", sa.Boolean())]
    results = [("train_seconds", real()), ("eval_seconds", real()), ("device_hours", real()),
               ("peak_memory_bytes", whole()), ("memory_kind", text(32)), ("samples_per_second", real()),
               ("steps", whole()), ("train_pairs", whole()), ("total_params", whole()),
               ("trainable_params", whole()), ("layers", whole()), ("test_pairs", whole()),
               ("test_left_out", whole())]
    metrics = ["mrr", "recall_at_1", "recall_at_3", "recall_at_5", "intent_recall_at_1", "intent_recall_at_3"]
    op.create_table(
        "runs", sa.Column("id", text(36), primary_key=True),
        *[sa.Column(name, kind, nullable=False) for name, kind in required],
        *[sa.Column(name, kind, nullable=True) for name, kind in optional],
        *[sa.Column(name, kind, nullable=False) for name, kind in hardware],
        *[sa.Column(name, kind, nullable=True) for name, kind in results],
        sa.Column("headline_metric", text(32), nullable=False), sa.Column("ideal_speedup", real(), nullable=True),
        *[sa.Column(name, real(), nullable=True) for name in metrics])
    for column in ("task", "strategy", "status", "suite", "model"):
        op.create_index(f"ix_runs_{column}", "runs", [column])
    op.create_table("curve_points",
                    sa.Column("run_id", text(36), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
                    sa.Column("step", whole(), primary_key=True), sa.Column("seconds", real(), nullable=False),
                    sa.Column("mrr", real(), nullable=False), sa.Column("intent_recall_at_3", real(), nullable=False),
                    sa.Column("headline", real(), nullable=False))
    op.create_table("query_ranks",
                    sa.Column("run_id", text(36), sa.ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True),
                    sa.Column("ranks", sa.LargeBinary(), nullable=False),
                    sa.Column("intent_ranks", sa.LargeBinary(), nullable=False))
    op.execute("INSERT INTO bench_meta (key, value) VALUES ('schema_version', '1')")


def downgrade() -> None:
    for table in ("query_ranks", "curve_points", "runs", "bench_meta"):
        op.drop_table(table)
