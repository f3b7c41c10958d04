"""Launch contexts: what an EHR launch (`launch=...`) stands for.

The chart page creates one when it opens an app; the authorization server resolves the
`launch` parameter to it and returns its patient, encounter and styling in the token
response (SMART App Launch 2.2, "launch context").
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from ehr_sandbox.db import Base


class LaunchRecord(Base):
    """A stored launch context, referenced by an opaque launch id."""

    __tablename__ = "sandbox_launch"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient: Mapped[str | None] = mapped_column(String(64))
    encounter: Mapped[str | None] = mapped_column(String(64))
    practitioner: Mapped[str | None] = mapped_column(String(64))
    need_patient_banner: Mapped[bool]
    smart_style_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True, slots=True)
class LaunchContext:
    """Who and what an EHR launch is about."""

    patient: str | None
    encounter: str | None = None
    practitioner: str | None = None
    need_patient_banner: bool = True
    smart_style_url: str | None = None


def create_launch(session: Session, context: LaunchContext) -> str:
    """Store a launch context and return its opaque id for the `launch` parameter."""
    launch_id = secrets.token_urlsafe(24)
    session.add(
        LaunchRecord(
            id=launch_id,
            patient=context.patient,
            encounter=context.encounter,
            practitioner=context.practitioner,
            need_patient_banner=context.need_patient_banner,
            smart_style_url=context.smart_style_url,
            created_at=datetime.now(UTC),
        )
    )
    return launch_id


def find_launch(session: Session, launch_id: str) -> LaunchContext | None:
    """The context of a launch id, or None when unknown."""
    record = session.get(LaunchRecord, launch_id)
    if record is None:
        return None
    return LaunchContext(
        patient=record.patient,
        encounter=record.encounter,
        practitioner=record.practitioner,
        need_patient_banner=record.need_patient_banner,
        smart_style_url=record.smart_style_url,
    )
