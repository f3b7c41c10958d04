"""Resource storage: the current version of every resource, with versionId and lastUpdated.

Other sandbox modules (pages, the authorization server's patient picker) read through
`read_resource` and `list_resources`; the FHIR server owns everything else here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ehr_sandbox.db import Base


class ResourceRecord(Base):
    """The current version of one resource."""

    __tablename__ = "sandbox_resource"

    resource_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    # The Patient whose compartment holds this resource (None for shared resources).
    patient_id: Mapped[str | None] = mapped_column(String(64), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)


def read_resource(session: Session, resource_type: str, resource_id: str) -> dict[str, Any] | None:
    """The current JSON of a resource, or None when it does not exist."""
    record = session.get(ResourceRecord, (resource_type, resource_id))
    return None if record is None else record.content


def list_resources(
    session: Session, resource_type: str, *, patient_id: str | None = None
) -> list[dict[str, Any]]:
    """Every resource of a type (optionally in one patient's compartment), by id."""
    query = select(ResourceRecord).where(ResourceRecord.resource_type == resource_type)
    if patient_id is not None:
        query = query.where(ResourceRecord.patient_id == patient_id)
    return [r.content for r in session.scalars(query.order_by(ResourceRecord.id))]
