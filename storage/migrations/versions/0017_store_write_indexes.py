"""Band rows read from their index alone, an event's first alerts indexed, one index less

A first polling cycle reads half a million band rows (each new story's
buckets, storage/clusters.py `_candidates`): with the story id in the
(band, hash, published_at) index, SQLite answers from the index without a
lookup of each row in the table (half the read's time). `story_sources.story_id`
had an index of its own, which the unique (story_id, source_id) begins with:
every insert wrote it for nothing. The chats alerted to an event a new story
joins (`storage.stories._alerted_in`) were found by reading every outbox row of
every member, edits included (most rows: each later report of a wire story
edits each chat's alert); a partial index holds only the first alerts.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 23:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_story_bands_bucket", "story_bands", ["band", "hash", "published_at", "story_id"]
    )
    op.drop_index("ix_story_bands_band_hash_published", table_name="story_bands")
    op.drop_index("ix_story_sources_story_id", table_name="story_sources")
    op.create_index(
        "ix_deliveries_alerts",
        "deliveries",
        ["story_id"],
        sqlite_where=sa.text("edit_of_id IS NULL"),
        postgresql_where=sa.text("edit_of_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_alerts", table_name="deliveries")
    op.create_index("ix_story_sources_story_id", "story_sources", ["story_id"])
    op.create_index(
        "ix_story_bands_band_hash_published", "story_bands", ["band", "hash", "published_at"]
    )
    op.drop_index("ix_story_bands_bucket", table_name="story_bands")
