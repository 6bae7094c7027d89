"""story clusters: stories.cluster_id, MinHash signatures and LSH bands

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a nullable column with a REFERENCES clause in place. Batch mode would
        # copy the table instead: slow on a big archive, and dropping the old table drops
        # the search index's trigger on it (story_fts_forget, migration 0010).
        op.execute(
            "ALTER TABLE stories ADD COLUMN cluster_id INTEGER"
            " CONSTRAINT fk_stories_cluster_id_stories"
            " REFERENCES stories (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("stories", sa.Column("cluster_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_stories_cluster_id_stories"),
            "stories",
            "stories",
            ["cluster_id"],
            ["id"],
            ondelete="SET NULL",
        )
    # Stories stored so far are each a cluster of their own.
    op.execute("UPDATE stories SET cluster_id = id")
    op.create_index(op.f("ix_stories_cluster_id"), "stories", ["cluster_id"], unique=False)
    op.create_table(
        "story_signatures",
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_signatures_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("story_id", name=op.f("pk_story_signatures")),
    )
    op.create_table(
        "story_bands",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_bands_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_bands")),
    )
    op.create_index("ix_story_bands_band_hash", "story_bands", ["band", "hash"], unique=False)
    op.create_index(op.f("ix_story_bands_story_id"), "story_bands", ["story_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_story_bands_story_id"), table_name="story_bands")
    op.drop_index("ix_story_bands_band_hash", table_name="story_bands")
    op.drop_table("story_bands")
    op.drop_table("story_signatures")
    op.drop_index(op.f("ix_stories_cluster_id"), table_name="stories")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE stories DROP COLUMN cluster_id")  # SQLite 3.35+
    else:
        op.drop_constraint(op.f("fk_stories_cluster_id_stories"), "stories", type_="foreignkey")
        op.drop_column("stories", "cluster_id")
