"""matches.actions and matches.actors: what happened and who acted, shown in alerts

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.add_column(sa.Column("actions", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("actors", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("matches") as batch:
        batch.drop_column("actors")
        batch.drop_column("actions")
