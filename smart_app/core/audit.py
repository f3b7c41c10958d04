"""The audit trail: who read or wrote what, for which patient, when (ids only, no PHI)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import select

from smart_app.core.db import db
from smart_app.core.models import AuditEvent


def record(
    *,
    user: str,
    patient: str,
    action: str,
    resource_ids: Iterable[str] = (),
    outcome: str = "ok",
) -> None:
    """Append one audit event (its own transaction: it survives the caller's failure)."""
    with db.session() as session:
        session.add(
            AuditEvent(
                recorded_at=datetime.now(UTC),
                user=user,
                patient=patient,
                action=action,
                resource_ids=" ".join(resource_ids),
                outcome=outcome,
            )
        )


def events_for(patient: str) -> Sequence[AuditEvent]:
    """Every audit event of a patient, oldest first."""
    with db.session() as session:
        query = select(AuditEvent).where(AuditEvent.patient == patient)
        return session.scalars(query.order_by(AuditEvent.recorded_at, AuditEvent.id)).all()
