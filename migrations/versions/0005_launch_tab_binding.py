"""launch sessions remember the tab that completed them without a cookie

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("launch_session") as batch:
        batch.add_column(sa.Column("tab_binding_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("launch_session") as batch:
        batch.drop_column("tab_binding_hash")
