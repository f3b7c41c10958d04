"""launch sessions can be handed to the patient on the clinic's tablet

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 06:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("launch_session") as batch:
        batch.add_column(sa.Column("handover", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("answerer", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("launch_session") as batch:
        batch.drop_column("answerer")
        batch.drop_column("handover")
