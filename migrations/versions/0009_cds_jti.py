"""CDS Hooks requests: each JWT's jti is kept until it expires, so a replay is refused

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cds_token_id",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_cds_token_id")),
    )
    op.create_index(
        op.f("ix_cds_token_id_expires_at"), "cds_token_id", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_cds_token_id_expires_at"), table_name="cds_token_id")
    op.drop_table("cds_token_id")
