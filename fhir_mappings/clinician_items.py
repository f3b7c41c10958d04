"""The clinician's items read from the chart: the last plan Flip wrote and the visit reason.

- The last plan: the newest CarePlan about the patient, status `active`, with an identifier
  in Flip's identifier system (Flip writes one per plan so creates are idempotent). Its
  activities that are still open (not completed, cancelled, stopped or entered in error;
  https://hl7.org/fhir/R4/valueset-care-plan-activity-status.html) become items, and so do
  the active Goals it references or that carry Flip's identifier.
- The encounter's reasonCode; when the encounter has none, the appointment's.
Other CarePlans and Goals are ordinary chart data and are left alone, not counted as skips.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, tzinfo

from fhir_mappings import codes
from fhir_mappings.fields import (
    Resource,
    Skips,
    concept_codes,
    concept_text,
    dicts,
    has_identifier,
    instant,
    note_words,
    reference,
    replaced_ones,
    text,
    valid_resource,
)
from fhir_mappings.narrative import read_plan_text
from fhir_mappings.visit_model import ClinicianItem

log = logging.getLogger(__name__)

CLOSED_ACTIVITY = frozenset({"completed", "cancelled", "stopped", "entered-in-error"})


def last_plan(
    care_plans: list[object],
    patient_ref: str,
    zone: tzinfo | None,
    base: str,
    skips: Skips,
    own_plan_id: str | None = None,
) -> Resource | None:
    """The newest active CarePlan Flip wrote for the patient, or None; never this visit's
    own plan (`own_plan_id`): a finished visit reopened is not its own "last plan"."""
    system = codes.identifier_system(base)
    plans: list[Resource] = []
    for value in care_plans:
        plan = valid_resource(value, "CarePlan", skips, log)
        if plan is None or not has_identifier(plan, system):
            continue
        if own_plan_id and has_identifier(plan, system, f"careplan/{own_plan_id}"):
            continue
        if reference(plan.get("subject")) != patient_ref:
            skips.skip(log, "CarePlan", "subject is not the patient")
        elif plan.get("status") == "active":
            plans.append(plan)
    replaced = replaced_ones(plans)
    plans = [p for p in plans if f"CarePlan/{p['id']}" not in replaced]
    if not plans:
        return None
    return max(plans, key=lambda p: (_plan_date(p, zone), str(p["id"])))


def plan_note_items(
    notes: list[object],
    patient_ref: str,
    zone: tzinfo | None,
    base: str,
    own_plan_id: str | None = None,
) -> tuple[list[ClinicianItem], datetime | None]:
    """What comes back from the newest Plan of care note Flip wrote, where the plan was
    written as a note (no CarePlan create): items for later, deferred items with their
    reason, and goals; never this visit's own note. And when that note was written."""
    system = codes.identifier_system(base)
    own = f"{codes.PLAN_NOTE_PREFIX}{own_plan_id}"
    mine = [
        note
        for note in notes
        if isinstance(note, dict)
        and note.get("status") == "current"
        and has_identifier(note, system, codes.PLAN_NOTE_PREFIX)
        and not (own_plan_id and has_identifier(note, system, own))
        and reference(note.get("subject")) == patient_ref
    ]
    replaced = replaced_ones(mine)
    found = [
        (instant(note.get("date"), zone), str(note.get("id")), words)
        for note in mine
        if f"DocumentReference/{note.get('id')}" not in replaced and (words := note_words(note))
    ]
    if not found:
        return [], None
    when, note_id, words = max(found, key=lambda f: (f[0].timestamp() if f[0] else 0, f[1]))
    ref = f"DocumentReference/{note_id}"
    read = read_plan_text(words)
    items = [ClinicianItem(f"{ref}#later-{n}", t, "last-plan-activity", ref, frozenset())
             for n, t in enumerate(read.later)]  # fmt: skip
    items += [
        ClinicianItem(f"{ref}#deferred-{n}", f"{t} (deferred: {why})" if why else t,
                      "last-plan-deferred", ref, frozenset())
        for n, (t, why) in enumerate(read.deferred)
    ]  # fmt: skip
    items += [ClinicianItem(f"{ref}#goal-{n}", t, "last-plan-goal", ref, frozenset())
              for n, t in enumerate(read.goals)]  # fmt: skip
    return items, when


def earlier_plans(
    care_plans: Sequence[object], patient_ref: str, base: str, own_plan_id: str
) -> tuple[str, ...]:
    """The patient's active Flip CarePlans of earlier visits ("CarePlan/9"): the ones this
    visit's plan replaces."""
    system = codes.identifier_system(base)
    found = []
    for plan in care_plans:
        if not isinstance(plan, dict) or not has_identifier(plan, system, "careplan/"):
            continue
        if has_identifier(plan, system, f"careplan/{own_plan_id}"):
            continue
        if reference(plan.get("subject")) == patient_ref and plan.get("status") == "active":
            found.append(f"CarePlan/{plan.get('id')}")
    return tuple(found)


def plan_items(
    plan: Resource | None,
    goals: list[object],
    patient_ref: str,
    base: str,
    skips: Skips,
    own_plan_id: str | None = None,
) -> list[ClinicianItem]:
    """Open activities of the last plan, then its active goals (and Flip's other goals),
    each goal once: by identifier, and by its words (a goal agreed again at each visit)."""
    items = list(_activity_items(plan)) if plan else []
    wanted = {reference(g) for g in dicts(plan.get("goal"))} if plan else set()
    system = codes.identifier_system(base)
    seen: set[str] = set()
    said: set[str] = set()
    for value in goals:
        goal = valid_resource(value, "Goal", skips, log)
        if goal is None:
            continue
        ref = f"Goal/{goal['id']}"
        if ref not in wanted and not has_identifier(goal, system):
            continue
        if own_plan_id and has_identifier(goal, system, f"goal/{own_plan_id}/"):
            continue  # this visit's own goal
        if reference(goal.get("subject")) != patient_ref:
            skips.skip(log, "Goal", "subject is not the patient")
            continue
        words = concept_text(goal.get("description"))
        if goal.get("lifecycleStatus") != "active" or words is None or ref in seen:
            continue
        seen.add(ref)
        if " ".join(words.casefold().split()) in said:
            continue
        said.add(" ".join(words.casefold().split()))
        items.append(
            ClinicianItem(
                key=f"{ref}#goal",
                text=words,
                origin="last-plan-goal",
                reference=ref,
                codes=concept_codes(goal.get("description")),
            )
        )
    return items


def reason_items(
    encounter: object | None, appointments: list[object], patient_ref: str, skips: Skips
) -> list[ClinicianItem]:
    """The encounter's reasons, else the booked appointment's."""
    linked: set[str | None] = set()
    if encounter is not None:
        resource = valid_resource(encounter, "Encounter", skips, log)
        if resource is not None:
            if reference(resource.get("subject")) not in (None, patient_ref):
                skips.skip(log, "Encounter", "subject is not the patient")
            else:
                found = list(_reasons(resource, "Encounter", "encounter-reason"))
                if found:
                    return found
                linked = {reference(a) for a in dicts(resource.get("appointment"))}
    booked = []
    for value in appointments:
        appointment = valid_resource(value, "Appointment", skips, log)
        if appointment is None:
            continue
        actors = {reference(p.get("actor")) for p in dicts(appointment.get("participant"))}
        if patient_ref not in actors:
            skips.skip(log, "Appointment", "the patient does not take part")
            continue
        booked.append(appointment)
    # The encounter's own appointment when it names one; otherwise every booked one.
    chosen = [a for a in booked if f"Appointment/{a['id']}" in linked] or booked
    return [item for a in chosen for item in _reasons(a, "Appointment", "appointment-reason")]


def _activity_items(plan: Resource) -> Iterator[ClinicianItem]:
    ref = f"CarePlan/{plan['id']}"
    for number, activity in enumerate(dicts(plan.get("activity"))):
        detail = activity.get("detail")
        if not isinstance(detail, dict) or detail.get("status") in CLOSED_ACTIVITY:
            continue
        words = text(detail.get("description")) or concept_text(detail.get("code"))
        if words is None:
            continue
        deferred = detail.get("status") == "on-hold"
        why = concept_text(detail.get("statusReason")) if deferred else None
        yield ClinicianItem(
            key=f"{ref}#activity-{number}",
            text=f"{words} (deferred: {why})" if why else words,
            origin="last-plan-deferred" if deferred else "last-plan-activity",
            reference=ref,
            codes=concept_codes(detail.get("code")),
        )


def _reasons(resource: Resource, resource_type: str, origin: str) -> Iterator[ClinicianItem]:
    ref = f"{resource_type}/{resource['id']}"
    for number, concept in enumerate(dicts(resource.get("reasonCode"))):
        words = concept_text(concept)
        if words is not None:
            yield ClinicianItem(
                key=f"{ref}#reason-{number}",
                text=words,
                origin=origin,
                reference=ref,
                codes=concept_codes(concept),
            )


def plan_finished_at(plan: Resource, zone: tzinfo | None) -> datetime | None:
    """When a plan was agreed: CarePlan.created, else its period start, else lastUpdated."""
    period = plan.get("period")
    meta = plan.get("meta")
    return (
        instant(plan.get("created"), zone)
        or (instant(period.get("start"), zone) if isinstance(period, dict) else None)
        or (instant(meta.get("lastUpdated"), zone) if isinstance(meta, dict) else None)
    )


def _plan_date(plan: Resource, zone: tzinfo | None) -> float:
    when = plan_finished_at(plan, zone)
    return when.timestamp() if when else float("-inf")
