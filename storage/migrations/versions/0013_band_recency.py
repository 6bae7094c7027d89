"""LSH bands indexed by (band, hash, published_at): a bucket's newest members first

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25 13:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_story_bands_band_hash_published", "story_bands", ["band", "hash", "published_at"]
    )
    op.drop_index("ix_story_bands_band_hash", table_name="story_bands")


def downgrade() -> None:
    op.create_index("ix_story_bands_band_hash", "story_bands", ["band", "hash"])
    op.drop_index("ix_story_bands_band_hash_published", table_name="story_bands")
