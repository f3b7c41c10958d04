"""Patient and Encounter JSON -> what the visit page shows about them."""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from fhir.resources.R4B.encounter import Encounter
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

log = logging.getLogger(__name__)

# FHIR `date`: YYYY, YYYY-MM or YYYY-MM-DD, no time zone.
# https://hl7.org/fhir/R4/datatypes.html#date
_FHIR_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A FHIR `date` at the precision the chart gives: a year, a month, or a day."""

    year: int
    month: int | None = None
    day: int | None = None

    def isoformat(self) -> str:
        """The FHIR text: "2010", "2010-02" or "2010-02-03"."""
        parts = [f"{self.year:04d}"]
        parts += [f"{part:02d}" for part in (self.month, self.day) if part is not None]
        return "-".join(parts)

    def as_date(self) -> date | None:
        """The full date, or None when only the year or the month is known."""
        if self.month is None or self.day is None:
            return None
        return date(self.year, self.month, self.day)

    def age_on(self, today: date) -> int | None:
        """Completed years on `today`, or None when the precision leaves it open."""
        oldest, youngest = (_completed_months(day, today) // 12 for day in self._bounds())
        return oldest if oldest == youngest and oldest >= 0 else None

    def months_on(self, today: date) -> int | None:
        """Completed months on `today`, or None when the precision leaves it open."""
        oldest, youngest = (_completed_months(day, today) for day in self._bounds())
        return oldest if oldest == youngest and oldest >= 0 else None

    def age_words(self, today: date) -> str | None:
        """The age as clinicians say it: "5 mo" under two years, else "13 y"; None when
        the precision leaves it open."""
        months, years = self.months_on(today), self.age_on(today)
        if months is not None and months < 24:
            return f"{months} mo"
        return None if years is None else f"{years} y"

    def _bounds(self) -> tuple[date, date]:
        # The earliest and the latest day of birth this precision allows.
        first_month, last_month = (self.month, self.month) if self.month else (1, 12)
        last_day = self.day or calendar.monthrange(self.year, last_month)[1]
        return date(self.year, first_month, self.day or 1), date(self.year, last_month, last_day)


def partial_date_from_fhir(value: object) -> PartialDate | None:
    """A PartialDate from FHIR `date` text, or None when it is not a valid one."""
    match = _FHIR_DATE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    year = int(match.group(1))
    month, day = (int(part) if part else None for part in match.group(2, 3))
    try:
        date(year, month or 1, day or 1)  # the calendar decides: no 2010-13 nor 2010-02-30
    except ValueError:
        return None
    return PartialDate(year, month, day)


def _completed_months(born: date, today: date) -> int:
    # Negative before birth. A month is completed on its day of birth, or after it in a
    # shorter month (born on 29 February: one year old on 1 March).
    return (today.year - born.year) * 12 + today.month - born.month - (today.day < born.day)


@dataclass(frozen=True, slots=True)
class PatientSummary:
    """The patient as the banner shows them."""

    id: str
    name: str
    birth_date: PartialDate | None  # `isoformat()` gives the FHIR text, at its precision
    gender: str | None


@dataclass(frozen=True, slots=True)
class EncounterSummary:
    """The encounter as the visit page shows it."""

    id: str
    status: str
    reason: str | None
    start: str | None


def patient_to_summary(resource: dict[str, Any]) -> PatientSummary | None:
    """A PatientSummary, or None (logged, without PHI) when the resource is not a Patient.

    A birthDate that is no FHIR date is left out rather than losing the whole patient.
    """
    # Read apart from the model, which gives a `date` for a full date but a `str` for a
    # partial one, and rejects the whole Patient for an impossible one.
    raw_birth_date = resource.get("birthDate")
    birth_date = partial_date_from_fhir(raw_birth_date)
    if raw_birth_date is not None and birth_date is None:
        log.warning("left out a Patient birthDate that is not a FHIR date")
    try:
        patient = Patient.model_validate({k: v for k, v in resource.items() if k != "birthDate"})
    except ValidationError as exc:
        # A strictly invalid Patient elsewhere (an extension without url, say) must not
        # lock the clinician out: read only what the banner needs, dropping what fails.
        log.warning("read a Patient that does not validate by its id and name: %d errors",
                    exc.error_count())  # fmt: skip
        found = _essentials(resource)
        if found is None:
            return None
        patient = found
    return PatientSummary(
        id=patient.id or "",
        name=_display_name(patient),
        birth_date=birth_date,
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


def practitioner_name(resource: dict[str, Any]) -> str | None:
    """A Practitioner's name as people read it, or None when it gives none."""
    names = resource.get("name")
    if resource.get("resourceType") != "Practitioner" or not isinstance(names, list):
        return None
    for name in names:
        if not isinstance(name, dict):
            continue
        if isinstance(name.get("text"), str) and name["text"].strip():
            return str(name["text"]).strip()
        parts = [*(name.get("given") or []), name.get("family") or ""]
        joined = " ".join(p for p in parts if isinstance(p, str) and p)
        if joined:
            return joined
    return None


def _essentials(resource: dict[str, Any]) -> Patient | None:
    kept = {k: resource[k] for k in ("resourceType", "id", "name", "gender") if k in resource}
    for dropped in ((), ("gender",), ("gender", "name")):
        try:
            return Patient.model_validate({k: v for k, v in kept.items() if k not in dropped})
        except ValidationError:
            continue
    return None


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
