"""stories by source index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 06:39:17.824288
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stories_source_fetched", ["source_id", "fetched_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("stories", schema=None) as batch_op:
        batch_op.drop_index("ix_stories_source_fetched")
