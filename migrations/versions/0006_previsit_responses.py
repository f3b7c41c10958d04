"""pre-visit responses: every submitted answer kept by Flip, sealed, with its outbox state

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "previsit_response",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_key", sa.String(length=64), nullable=False),
        sa.Column("iss", sa.String(length=500), nullable=False),
        sa.Column("patient", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("visit_key", sa.String(length=100), nullable=False),
        sa.Column("launch_hash", sa.String(length=64), nullable=False),
        sa.Column("granted_scopes", sa.Text(), nullable=False),
        sa.Column("sealed_answers", sa.Text(), nullable=False),
        sa.Column("sealed_response", sa.Text(), nullable=False),
        sa.Column("ehr_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_previsit_response")),
        sa.UniqueConstraint("response_key", name=op.f("uq_previsit_response_response_key")),
        sa.UniqueConstraint(
            "iss", "patient", "author", "visit_key", name=op.f("uq_previsit_response_iss")
        ),
    )
    with op.batch_alter_table("previsit_response") as batch:
        batch.create_index(batch.f("ix_previsit_response_patient"), ["patient"], unique=False)
        batch.create_index(batch.f("ix_previsit_response_state"), ["state"], unique=False)
        batch.create_index(
            batch.f("ix_previsit_response_next_attempt_at"), ["next_attempt_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("previsit_response")
