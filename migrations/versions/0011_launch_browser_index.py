"""Index launch sessions by browser: each launch looks for that browser's launches still
handed to the patient on the clinic's tablet

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 23:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_launch_session_browser_hash"), "launch_session", ["browser_hash"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_launch_session_browser_hash"), table_name="launch_session")
