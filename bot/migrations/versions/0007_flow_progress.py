"""Where a worker is in flows that are not about one case, so they can resume them.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flow_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flow_progress")),
        sa.UniqueConstraint("owner", "flow_id", name=op.f("uq_flow_progress_owner")),
    )
    op.create_index(op.f("ix_flow_progress_owner"), "flow_progress", ["owner"])


def downgrade() -> None:
    op.drop_index(op.f("ix_flow_progress_owner"), table_name="flow_progress")
    op.drop_table("flow_progress")
