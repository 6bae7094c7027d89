"""Recompute stories' canonical URL keys with w3lib's canonical form (crawler/urls.py)

Keys stored before this differ for one URL written two ways (query order,
%e6 vs %E6, %7E vs ~, IRI vs percent-encoded), so one story could be stored
twice. Stories whose new keys agree are merged into the oldest (lowest id):
its sources, deliveries, match and cluster members move to it where it has
none of its own, then the newer story goes.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from crawler.urls import canonical_url

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

BATCH = 5000
STATEMENTS = [
    # The duplicate's sources become the keeper's ("also reported by").
    "INSERT INTO story_sources (story_id, source_id, url, seen_at)"
    " SELECT :keep, s.source_id, s.url, s.seen_at FROM story_sources s"
    " WHERE s.story_id = :drop AND NOT EXISTS (SELECT 1 FROM story_sources k"
    " WHERE k.story_id = :keep AND k.source_id = s.source_id)",
    # A chat's ledger row for the duplicate stays, unless it has one for the keeper.
    "UPDATE deliveries SET story_id = :keep WHERE story_id = :drop AND subscriber_id NOT IN"
    " (SELECT subscriber_id FROM deliveries WHERE story_id = :keep)",
    "UPDATE matches SET story_id = :keep WHERE story_id = :drop"
    " AND NOT EXISTS (SELECT 1 FROM matches WHERE story_id = :keep)",
    "UPDATE stories SET cluster_id = :keep WHERE cluster_id = :drop",
    "DELETE FROM stories WHERE id = :drop",
]


def _changes(connection: sa.Connection) -> tuple[dict[int, str], dict[int, int]]:
    """({story id: new key} for keys that change, {duplicate id: keeper id})."""
    keeper: dict[str, int] = {}
    changed: dict[int, str] = {}
    merged: dict[int, int] = {}
    last = 0
    while True:
        rows = connection.execute(
            sa.text(
                "SELECT id, canonical_url, url FROM stories WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return changed, merged
        for story_id, old_key, url in rows:
            new_key = canonical_url(url or old_key)  # as a new link is keyed
            if new_key in keeper:
                merged[story_id] = keeper[new_key]
                continue
            keeper[new_key] = story_id
            if new_key != old_key:
                changed[story_id] = new_key
        last = rows[-1][0]


def upgrade() -> None:
    connection = op.get_bind()
    changed, merged = _changes(connection)
    for drop, keep in merged.items():
        for statement in STATEMENTS:
            connection.execute(sa.text(statement), {"keep": keep, "drop": drop})
    if not changed:
        return
    # Two steps, so that no key is briefly held by two stories (the column is unique).
    update = sa.text("UPDATE stories SET canonical_url = :key WHERE id = :id")
    connection.execute(update, [{"id": i, "key": f"migrating:{i}"} for i in changed])
    connection.execute(update, [{"id": i, "key": key} for i, key in changed.items()])


def downgrade() -> None:
    """Keys stay as they are: the old form read them as well (merged stories stay merged)."""
