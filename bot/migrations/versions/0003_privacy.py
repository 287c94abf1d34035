"""Privacy: case progress stored as (encrypted) text; when a worker was told details were removed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("details_notice_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("cases") as batch:
        # JSON -> text: the column now holds an encrypted JSON document (bot.models.base).
        batch.alter_column(
            "flows",
            type_=sa.Text(),
            existing_type=sa.JSON(),
            existing_nullable=False,
            postgresql_using="flows::text",
        )


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.alter_column(
            "flows",
            type_=sa.JSON(),
            existing_type=sa.Text(),
            existing_nullable=False,
            postgresql_using="flows::json",
        )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("details_notice_at")
