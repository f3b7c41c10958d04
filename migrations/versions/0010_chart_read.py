"""Each launch's last chart read, sealed, reused by agenda actions and finishing

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chart_read",
        sa.Column("launch_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_results", sa.Text(), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("launch_hash", name=op.f("pk_chart_read")),
    )
    op.create_index(op.f("ix_chart_read_expires_at"), "chart_read", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_chart_read_expires_at"), table_name="chart_read")
    op.drop_table("chart_read")
