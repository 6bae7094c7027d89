"""delivery ledger: per-chat queue index, 429 and part counters, chat failures

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("throttled", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "ix_deliveries_chat_queue", ["subscriber_id", "status", "id"], unique=False
        )
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failures", sa.Integer(), nullable=False, server_default="0"))
    # Rows that already ended keep a finish time, so the ledger can be ordered and pruned.
    op.execute(
        "UPDATE deliveries SET finished_at = COALESCE(sent_at, created_at) "
        "WHERE status IN ('sent', 'failed', 'skipped')"
    )


def downgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("failures")
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_deliveries_chat_queue")
        batch_op.drop_column("finished_at")
        batch_op.drop_column("parts_sent")
        batch_op.drop_column("throttled")
