"""one alert per event: edit rows in the outbox, and the /everysource choice

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("every_source", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edit_of_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_deliveries_edit_of_id_deliveries",
            "deliveries",
            ["edit_of_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("fk_deliveries_edit_of_id_deliveries", type_="foreignkey")
        batch_op.drop_column("edit_of_id")
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.drop_column("every_source")
