"""Flip's tables. Every table is here, so Alembic sees one metadata."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from sqlalchemy import DateTime, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from smart_app.core.db import Base

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


class PendingLaunch(Base):
    """A launch between the authorize redirect and the callback; deleted when used."""

    __tablename__ = "pending_launch"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)  # PendingAuthorization, encrypted
    # Bindings to the browser that started it: a partitioned cookie, and a secret in the
    # tab's sessionStorage; browsers that block third-party cookies keep one or the other.
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    binding_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[Timestamp] = mapped_column(index=True)


class LaunchSession(Base):
    """One completed launch: its context and tokens, encrypted; the browser holds its id."""

    __tablename__ = "launch_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    iss: Mapped[str] = mapped_column(String(500))
    patient: Mapped[FhirId]
    sealed_context: Mapped[str] = mapped_column(Text)
    sealed_tokens: Mapped[str] = mapped_column(Text)
    browser_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[Timestamp]
    expires_at: Mapped[Timestamp] = mapped_column(index=True)


class VisitDraft(Base):
    """The clinician's agenda changes for one encounter, kept as they happen (sealed)."""

    __tablename__ = "visit_draft"
    __table_args__ = (UniqueConstraint("iss", "patient", "encounter", "user_ref"),)

    id: Mapped[IntPk]
    iss: Mapped[str] = mapped_column(String(500))
    patient: Mapped[FhirId]
    encounter: Mapped[FhirId]  # "" when the launch has no encounter
    user_ref: Mapped[str] = mapped_column(String(200))  # fhirUser, e.g. Practitioner/123
    sealed_state: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[Timestamp]


class OutboxEntry(Base):
    """One agreed plan on its way to the chart, committed before the first attempt.

    What the clinician typed (the plan) and the per-resource status (which may echo the
    server's messages) are sealed; the rest is ids, states and times.
    """

    __tablename__ = "outbox"

    id: Mapped[IntPk]
    plan_id: Mapped[str] = mapped_column(String(100), unique=True)
    launch_hash: Mapped[str] = mapped_column(String(64))  # whose tokens write it
    iss: Mapped[str] = mapped_column(String(500))
    patient: Mapped[FhirId]
    encounter: Mapped[str | None] = mapped_column(String(64))
    granted_scopes: Mapped[str] = mapped_column(Text, default="")
    strategy: Mapped[str | None] = mapped_column(Text)  # WriteStrategy JSON; None: not yet
    sealed_plan: Mapped[str] = mapped_column(Text)
    sealed_writes: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | written | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[Timestamp] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(String(200))  # kind and status, no PHI
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]
