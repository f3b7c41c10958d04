"""Patient and Encounter JSON -> what the visit page shows about them."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PatientSummary:
    """The patient as the banner shows them."""

    id: str
    name: str
    birth_date: date | None
    gender: str | None


@dataclass(frozen=True, slots=True)
class EncounterSummary:
    """The encounter as the visit page shows it."""

    id: str
    status: str
    reason: str | None
    start: str | None


def patient_to_summary(resource: dict[str, Any]) -> PatientSummary | None:
    """A PatientSummary, or None (logged, without PHI) when the resource is not a Patient."""
    try:
        patient = Patient.model_validate(resource)
    except ValidationError as exc:
        log.warning("skipped a Patient that does not validate: %d errors", exc.error_count())
        return None
    return PatientSummary(
        id=patient.id or "",
        name=_display_name(patient),
        birth_date=patient.birthDate,
        gender=patient.gender,
    )


def encounter_to_summary(resource: dict[str, Any]) -> EncounterSummary | None:
    """An EncounterSummary, or None (logged, without PHI) when it does not validate."""
    try:
        encounter = Encounter.model_validate(resource)
    except ValidationError as exc:
        log.warning("skipped an Encounter that does not validate: %d errors", exc.error_count())
        return None
    reasons = [
        concept.text or next((c.display for c in concept.coding or [] if c.display), None)
        for concept in encounter.reasonCode or []
    ]
    start = encounter.period.start if encounter.period else None
    return EncounterSummary(
        id=encounter.id or "",
        status=encounter.status or "unknown",
        reason="; ".join(r for r in reasons if r) or None,
        start=start.isoformat() if start else None,
    )


def _display_name(patient: Patient) -> str:
    names = patient.name or []
    # Prefer the name the person uses (FHIR name.use "usual"), then "official", then any.
    ranked = sorted(names, key=lambda n: {"usual": 0, "official": 1}.get(n.use or "", 2))
    for name in ranked:
        if name.text:
            return str(name.text)
        parts = [*(name.given or []), name.family or ""]
        joined = " ".join(p for p in parts if p)
        if joined:
            return joined
    return "Unnamed patient"
