"""Everything read from the chart for one visit, as VisitInputs: the one entry point.

`read_visit` never raises on chart data. What it counts in `skipped` (reasons are logged,
never text, names or ids): resources that are not JSON objects, have an unexpected
resourceType or do not validate as R4; pre-visit responses that do not count (wrong status,
questionnaire, subject, author, or outside the window); RelatedPersons of someone else;
Flip's own plans, goals and notes or preference Observations about another patient, or
unusable; an encounter or appointment of another patient. It does not count ordinary chart
data it has no use for (other teams' CarePlans, Goals and notes, other Observations) nor a
respondent's older responses superseded by a newer one.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta

from fhir_mappings import codes
from fhir_mappings.clinician_items import (
    last_plan,
    plan_finished_at,
    plan_items,
    plan_note_items,
    reason_items,
)
from fhir_mappings.fields import Resource, Skips, first_given_name, reference, valid_resource
from fhir_mappings.preference import preference_history
from fhir_mappings.previsit import read_answers, reading_context
from fhir_mappings.visit_model import VisitInputs

log = logging.getLogger(__name__)

DEFAULT_WINDOW = timedelta(days=14)


def read_visit(
    *,
    patient_id: str,
    encounter: Resource | None,
    appointments: list[Resource],
    questionnaire_responses: list[Resource],
    related_persons: list[Resource],
    observations: list[Resource],
    document_references: list[Resource],
    care_plans: list[Resource],
    goals: list[Resource],
    visit_start: datetime,
    window: timedelta = DEFAULT_WINDOW,
    base: str = codes.DEFAULT_BASE,
    linkid_map: Mapping[str, str] | None = None,
    questionnaire_urls: Collection[str] | None = None,
    patient: Resource | None = None,
    own_plan_id: str | None = None,
) -> VisitInputs:
    """The pre-visit answers, partnering preference and clinician items for one visit
    (`own_plan_id`: this visit's plan, never read back as its "last plan")."""
    if visit_start.tzinfo is None:
        raise ValueError("visit_start must be timezone-aware")
    skips = Skips()
    patient_ref = f"Patient/{patient_id}"
    zone = visit_start.tzinfo
    plan = last_plan(list(care_plans), patient_ref, zone, base, skips, own_plan_id)
    items = plan_items(plan, list(goals), patient_ref, base, skips, own_plan_id)
    if plan is not None:
        finished = plan_finished_at(plan, zone)
    else:  # the plan was written as a Plan of care note (Epic, Oracle Health)
        from_note, finished = plan_note_items(
            list(document_references), patient_ref, zone, base, own_plan_id
        )
        items += from_note
    items += reason_items(encounter, list(appointments), patient_ref, skips)
    context = reading_context(
        patient_id=patient_id,
        patient_name=_patient_name(patient, patient_id, skips),
        family=_family(list(related_persons), patient_ref, skips),
        visit_start=visit_start,
        window=window,
        base=base,
        linkid_map=linkid_map,
        questionnaire_urls=questionnaire_urls,
        answered_after=finished,
    )
    answers = read_answers(list(questionnaire_responses), context, skips)
    history = preference_history(
        answers=answers,
        observations=list(observations),
        document_references=list(document_references),
        patient_ref=patient_ref,
        zone=zone,
        base=base,
        skips=skips,
    )
    return VisitInputs(
        answers=answers,
        preference=history[0] if history else None,
        clinician_items=tuple(items),
        skipped=skips.count,
        invalid=skips.invalid,
        last_plan_at=finished,
    )


def _family(related_persons: list[object], patient_ref: str, skips: Skips) -> dict[str, Resource]:
    family: dict[str, Resource] = {}
    for value in related_persons:
        person = valid_resource(value, "RelatedPerson", skips, log)
        if person is None:
            continue
        if reference(person.get("patient")) != patient_ref:
            skips.skip(log, "RelatedPerson", "related to someone else")
        elif person.get("active") is not False:
            family[f"RelatedPerson/{person['id']}"] = person
    return family


def _patient_name(patient: object | None, patient_id: str, skips: Skips) -> str:
    # The page says "sent by Maya": the patient's given name, when the Patient is at hand.
    if patient is not None:
        resource = valid_resource(patient, "Patient", skips, log)
        if resource is not None and resource["id"] == patient_id:
            return first_given_name(resource) or "the patient"
    return "the patient"
