"""Stories indexed by (fingerprint, published_at) and (cluster_id, published_at)

Clustering reads the first and newest few stories of a title in a window, and
the newest members and time span of a cluster. With single-column indexes
each read walked every story of the title or cluster (a wire title or a
templated feed's makes thousands in a window); with the time in the index it
walks only the rows it returns (storage/clusters.py). The single-column
indexes are left out: these serve every query they served.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 09:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_stories_fingerprint_published", "stories", ["fingerprint", "published_at"])
    op.create_index("ix_stories_cluster_published", "stories", ["cluster_id", "published_at"])
    op.drop_index("ix_stories_fingerprint", table_name="stories")
    op.drop_index("ix_stories_cluster_id", table_name="stories")


def downgrade() -> None:
    op.create_index("ix_stories_cluster_id", "stories", ["cluster_id"])
    op.create_index("ix_stories_fingerprint", "stories", ["fingerprint"])
    op.drop_index("ix_stories_cluster_published", table_name="stories")
    op.drop_index("ix_stories_fingerprint_published", table_name="stories")
