"""outbox rows keep versions: an edited plan finished again is written as an amendment

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 06:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("previous", sa.Text(), nullable=True))
        batch.add_column(sa.Column("sealed_queued", sa.Text(), nullable=True))
        batch.add_column(sa.Column("history", sa.Text(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("history")
        batch.drop_column("sealed_queued")
        batch.drop_column("previous")
        batch.drop_column("version")
