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
    # The browser that completed the launch, proven on every request: by its partitioned
    # cookie, or (where the frame keeps no cookie) by its tab's secret in sessionStorage.
    # Indexed: each launch looks for this browser's launches handed to the patient.
    browser_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    tab_binding_hash: Mapped[str | None] = mapped_column(String(64))
    # Handed to the patient on the clinic's tablet: "tablet" while they answer, "ended"
    # once handed back; None for the clinician's own launch. `answerer` is whose turn it is.
    handover: Mapped[str | None] = mapped_column(String(16))
    answerer: Mapped[str | None] = mapped_column(String(200))
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
    # Finishing again after an edit makes a new version (smart_app/closing/versions.py):
    # `previous` holds what the last version wrote (ids and content digests, no words),
    # `sealed_queued` an edit made while a version is still on its way, `history` each
    # earlier version's outcome (states, times, resource ids).
    version: Mapped[int] = mapped_column(default=1)
    previous: Mapped[str | None] = mapped_column(Text)
    sealed_queued: Mapped[str | None] = mapped_column(Text)
    history: Mapped[str] = mapped_column(Text, default="[]")
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | written | failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[Timestamp] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(String(200))  # kind and status, no PHI
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class PrevisitResponse(Base):
    """One person's pre-visit answers for one visit, kept by Flip and sent to the chart.

    Every submitted response is kept here whether or not the EHR takes it, so the answers
    reach the visit on any EHR. The answers and the QuestionnaireResponse are sealed; the
    rest is ids, states and times. Sending again changes this row: never a second one.
    """

    __tablename__ = "previsit_response"
    __table_args__ = (UniqueConstraint("iss", "patient", "author", "visit_key"),)

    id: Mapped[IntPk]
    response_key: Mapped[str] = mapped_column(String(64), unique=True)  # in the identifier
    iss: Mapped[str] = mapped_column(String(500))
    patient: Mapped[FhirId] = mapped_column(index=True)
    author: Mapped[str] = mapped_column(String(200))  # Patient/1 or RelatedPerson/2
    # Appointment/7, or "next"; a tablet's someone else adds |other:<token> (a row each).
    visit_key: Mapped[str] = mapped_column(String(100))
    launch_hash: Mapped[str] = mapped_column(String(64))  # whose tokens write it
    granted_scopes: Mapped[str] = mapped_column(Text, default="")
    sealed_answers: Mapped[str] = mapped_column(Text)  # FormAnswers JSON
    sealed_response: Mapped[str] = mapped_column(Text)  # the QuestionnaireResponse JSON
    ehr_id: Mapped[str | None] = mapped_column(String(64))  # once the EHR took it
    # pending (on its way) | sent (the EHR confirmed) | kept (the EHR takes no such write)
    # | refused (the EHR said no): in every state the answers stay here.
    state: Mapped[str] = mapped_column(String(16), index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[Timestamp] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(String(200))  # kind and status, no PHI
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[Timestamp]
    updated_at: Mapped[Timestamp]


class CdsTokenId(Base):
    """A CDS client's JWT `jti` already accepted, kept until the token's `exp` (replays fail).

    The primary key is the hash of iss and jti: when two workers race to accept one token,
    the database lets only one insert succeed (CDS Hooks 2.0, "Trusting CDS Clients").
    """

    __tablename__ = "cds_token_id"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[Timestamp] = mapped_column(index=True)


class ChartRead(Base):
    """A launch's last read of the chart (sealed): agenda actions and finishing reuse it,
    so neither waits for the EHR nor fails while it is down. Gone when the launch expires."""

    __tablename__ = "chart_read"

    launch_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed_results: Mapped[str] = mapped_column(Text)
    read_at: Mapped[Timestamp]
    expires_at: Mapped[Timestamp] = mapped_column(index=True)
