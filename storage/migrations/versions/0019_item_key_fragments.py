"""Feed items without a link keep their own key: the fragment crawler.feeds gives them

`canonical_url` dropped every fragment, so each link-less item of a feed (and each item of
a feed whose items share one link) was keyed by the feed's or the shared URL: one story
stored, every later one taken for it. Stored keys of such items get their fragment back.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crawler.urls import canonical_url

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, canonical_url, url FROM stories WHERE url LIKE '%#%'")
    ).all()
    exists = sa.text("SELECT 1 FROM stories WHERE canonical_url = :key")
    update = sa.text("UPDATE stories SET canonical_url = :key WHERE id = :id")
    for story_id, old_key, url in rows:
        new_key = canonical_url(url)
        if new_key != old_key and connection.execute(exists, {"key": new_key}).first() is None:
            connection.execute(update, {"id": story_id, "key": new_key})


def downgrade() -> None:
    """Keys with a fragment stay: the older code reads them as any other key."""
