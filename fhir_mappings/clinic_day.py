"""A clinic day's Appointments and the listed patients' charts -> the care team's panel rows.

Pure. Appointments (https://hl7.org/fhir/R4/appointment.html) that will not happen
(`cancelled`, `noshow`, `entered-in-error`) or name no Patient are left out; the rest are
listed by start time. Each patient's answers, family and last plan are read with the same
rules as the visit (`visit_reading.read_visit`), so the panel and the visit never disagree.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from fhir_mappings import codes
from fhir_mappings.fields import (
    Resource,
    Skips,
    concept_text,
    dicts,
    instant,
    reference,
    valid_resource,
)
from fhir_mappings.patient import PatientSummary, patient_to_summary
from fhir_mappings.previsit_summary import PrevisitSummary, summarize
from fhir_mappings.visit_reading import read_visit

log = logging.getLogger(__name__)

NOT_HAPPENING = frozenset({"cancelled", "noshow", "entered-in-error"})
LAST_PLAN = frozenset({"last-plan-activity", "last-plan-deferred", "last-plan-goal"})


@dataclass(frozen=True, slots=True)
class Booking:
    """One appointment of the day: when, who, and why, as booked."""

    appointment_id: str
    start: datetime
    patient_id: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class DayRow:
    """One row of the panel: the booking, the patient, what they said, what is still open."""

    booking: Booking
    patient: PatientSummary | None  # None: the EHR did not give Flip this Patient
    age: str | None  # as clinicians say it: "5 mo" under two years, else "13 y"
    answers: PrevisitSummary
    open_items: int
    # When this day's plan was saved: the visit is done, and earlier answers were its own.
    plan_saved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ChartsOfTheDay:
    """The listed patients' resources, as the EHR returned them (any order, any patient)."""

    patients: list[object]
    responses: list[object]
    related_persons: list[object]
    care_plans: list[object]
    goals: list[object]
    notes: list[object]  # Flip's notes: the plan as a note where CarePlan is not written


@dataclass(frozen=True, slots=True)
class Reading:
    """How to read the answers: the same settings the visit uses."""

    window: timedelta
    base: str = codes.DEFAULT_BASE
    linkid_map: Mapping[str, str] | None = None
    questionnaire_urls: Collection[str] | None = None
    clinic_language: str = "en"


def bookings(appointments: list[object], zone: tzinfo, skips: Skips) -> list[Booking]:
    """The appointments that will happen, each with its patient, by start time."""
    found: dict[str, Booking] = {}
    for value in appointments:
        appointment = valid_resource(value, "Appointment", skips, log)
        if appointment is None:
            continue
        start = instant(appointment.get("start"), zone)
        patient = next(
            (
                ref.removeprefix("Patient/")
                for p in dicts(appointment.get("participant"))
                if (ref := reference(p.get("actor")) or "").startswith("Patient/")
            ),
            None,
        )
        if appointment.get("status") in NOT_HAPPENING:
            continue
        if start is None or patient is None:
            skips.skip(log, "Appointment", "no start or no patient")
            continue
        reasons = [concept_text(c) for c in dicts(appointment.get("reasonCode"))]
        found[str(appointment["id"])] = Booking(
            appointment_id=str(appointment["id"]),
            start=start.astimezone(zone),
            patient_id=patient,
            reason="; ".join(r for r in reasons if r) or None,
        )
    return sorted(found.values(), key=lambda b: (b.start, b.appointment_id))


def day_rows(
    booked: list[Booking],
    charts: ChartsOfTheDay,
    reading: Reading,
    *,
    own_responses: Callable[[str], list[dict[str, object]]] = lambda _patient: [],
) -> list[DayRow]:
    """One row per booking, read from the charts of the day (and Flip's own kept answers)."""
    by_patient = _by_patient(charts)
    rows = []
    for booking in booked:
        mine = by_patient[booking.patient_id]
        patient = next((p for p in mine["Patient"] if isinstance(p, dict)), None)
        summary = None if patient is None else patient_to_summary(patient)
        inputs = read_visit(
            patient_id=booking.patient_id,
            patient=patient,
            encounter=None,
            appointments=[],
            questionnaire_responses=[
                *mine["QuestionnaireResponse"],
                *own_responses(booking.patient_id),
            ],
            related_persons=mine["RelatedPerson"],
            observations=[],
            document_references=mine["DocumentReference"],
            care_plans=mine["CarePlan"],
            goals=mine["Goal"],
            visit_start=booking.start,
            window=reading.window,
            base=reading.base,
            linkid_map=reading.linkid_map,
            questionnaire_urls=reading.questionnaire_urls,
        )
        rows.append(
            DayRow(
                booking=booking,
                patient=summary,
                age=None
                if summary is None or summary.birth_date is None
                else summary.birth_date.age_words(booking.start.date()),
                answers=summarize(inputs.answers, reading.clinic_language),
                open_items=sum(1 for i in inputs.clinician_items if i.origin in LAST_PLAN),
                plan_saved_at=_saved_on_the_day(inputs.last_plan_at, booking),
            )
        )
    return rows


def _saved_on_the_day(saved: datetime | None, booking: Booking) -> datetime | None:
    if saved is None or saved.astimezone(booking.start.tzinfo).date() < booking.start.date():
        return None
    return saved.astimezone(booking.start.tzinfo)


def _by_patient(charts: ChartsOfTheDay) -> defaultdict[str, defaultdict[str, list[Resource]]]:
    # Each resource to its patient: the Patient itself, `subject` or `patient` references.
    grouped: defaultdict[str, defaultdict[str, list[Resource]]] = defaultdict(
        lambda: defaultdict(list)
    )
    lists = (
        charts.patients,
        charts.responses,
        charts.related_persons,
        charts.care_plans,
        charts.goals,
        charts.notes,
    )
    for resources in lists:
        for value in resources:
            if not isinstance(value, dict):
                continue
            kind = str(value.get("resourceType"))
            if kind == "Patient":
                owner = f"Patient/{value.get('id')}"
            else:
                owner = reference(value.get("subject") or value.get("patient")) or ""
            if owner.startswith("Patient/"):
                grouped[owner.removeprefix("Patient/")][kind].append(value)
    return grouped
