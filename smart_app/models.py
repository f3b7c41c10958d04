"""Flip's tables. Every table is here, so Alembic sees one metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from smart_app.db import Base

IntPk = Annotated[int, mapped_column(primary_key=True)]
Timestamp = Annotated[datetime, mapped_column(DateTime(timezone=True))]
FhirId = Annotated[str, mapped_column(String(64))]


class AuditEvent(Base):
    """Who read or wrote what, for which patient, when. PHI stays out: ids only."""

    __tablename__ = "audit_event"

    id: Mapped[IntPk]
    recorded_at: Mapped[Timestamp] = mapped_column(index=True)
    user: Mapped[str] = mapped_column(String(200))
    patient: Mapped[FhirId] = mapped_column(index=True)
    action: Mapped[str] = mapped_column(String(40))
    resource_ids: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(40))
