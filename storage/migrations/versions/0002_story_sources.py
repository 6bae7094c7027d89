"""story sources

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 06:12:27.597399
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["sources.id"],
            name=op.f("fk_story_sources_source_id_sources"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_sources_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_sources")),
        sa.UniqueConstraint("story_id", "source_id", name=op.f("uq_story_sources_story_id")),
    )
    with op.batch_alter_table("story_sources", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_story_sources_story_id"), ["story_id"], unique=False)
    # Every story stored so far was carried by its own source.
    op.execute(
        "INSERT INTO story_sources (story_id, source_id, url, seen_at) "
        "SELECT id, source_id, url, fetched_at FROM stories"
    )


def downgrade() -> None:
    with op.batch_alter_table("story_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_story_sources_story_id"))

    op.drop_table("story_sources")
