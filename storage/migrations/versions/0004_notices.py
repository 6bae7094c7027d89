"""notices

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 06:18:10.149643
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notice_id", sa.Integer(), nullable=True))
        batch_op.alter_column("story_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_unique_constraint(
            batch_op.f("uq_deliveries_notice_id"), ["notice_id", "subscriber_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_deliveries_notice_id_notices"),
            "notices",
            ["notice_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_check_constraint(
            op.f("ck_deliveries_story_or_notice"), "(story_id IS NULL) <> (notice_id IS NULL)"
        )


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_deliveries_story_or_notice"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_deliveries_notice_id_notices"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("uq_deliveries_notice_id"), type_="unique")
        batch_op.alter_column("story_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("notice_id")

    op.drop_table("notices")
