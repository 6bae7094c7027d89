"""Two indexes fewer: each was the first column of another index of its table

`deliveries.subscriber_id` had an index of its own, which ix_deliveries_chat_queue
(subscriber_id, status, id) begins with: a first polling cycle writes some 60,000
outbox rows, each into both. `subscriptions.subscriber_id`'s is the start of the
unique (subscriber_id, kind, value). Every lookup by chat, and the foreign keys'
cascades, use the longer index on SQLite and PostgreSQL alike.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 02:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_deliveries_subscriber_id", table_name="deliveries")
    op.drop_index("ix_subscriptions_subscriber_id", table_name="subscriptions")


def downgrade() -> None:
    op.create_index("ix_subscriptions_subscriber_id", "subscriptions", ["subscriber_id"])
    op.create_index("ix_deliveries_subscriber_id", "deliveries", ["subscriber_id"])
