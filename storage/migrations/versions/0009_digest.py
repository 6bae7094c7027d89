"""digest mode per chat

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 08:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("digest", sa.String(length=10), nullable=False, server_default="off")
        )
        batch_op.add_column(sa.Column("digest_at", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("digest_at")
        batch_op.drop_column("digest")
