"""The agreed plan as the FHIR R4 resources Flip writes back to the chart, and their Provenance.

Pure: `plan_writes` turns an AgreedPlan into CarePlan + Goals (or a Plan of care note), the
partnering note and the Care Experience Preference Observation, each validated with the R4B
models. Every resource carries an identifier in Flip's identifier system derived from the
plan id, and a matching `If-None-Exist`, so a retry, a double click or a second tab creates
nothing twice (https://hl7.org/fhir/R4/http.html#ccreate). References between the writes use
deterministic `urn:uuid:` full URLs, resolved either by the server in a transaction
(https://hl7.org/fhir/R4/bundle.html#references) or by the writer with `resolve_references`.
What the next visit reads back is decided by clinician_items.py and preference.py.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from fhir_mappings import codes
from fhir_mappings.labels import carries_words
from fhir_mappings.narrative import (
    careplan_div,
    clean,
    has_words,
    partnering_text,
    plan_text,
    preference_summary,
)
from fhir_mappings.plan_activities import plan_activities
from fhir_mappings.plan_model import AgreedPlan, PartneringNote

Resource = dict[str, Any]

# Namespace of the full URLs' UUIDv5s: fixed, so the same plan and key give the same URL.
_URL_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://flip.example.org/fhir/writeback")
PLAIN_TEXT = "text/plain; charset=utf-8"
FLIP_DEVICE_VALUE = "flip"


class MappingError(Exception):
    """A built resource does not validate as R4: a bug, or text beyond a documented limit."""


@dataclass(frozen=True, slots=True)
class WriteOptions:
    """How a site writes back: where Flip's systems live and which resources it accepts."""

    base: str = codes.DEFAULT_BASE
    # False: the plan becomes a Plan of care note (LOINC 18776-5) and no Goals or CarePlan,
    # for servers where CarePlan/Goal are read-only (Oracle Health documents them so).
    plan_as_careplan: bool = True
    write_observation: bool = True  # the preference as a Care Experience Preference
    note_type: tuple[str, str, str] = (
        codes.LOINC,
        codes.PROGRESS_NOTE,
        codes.PROGRESS_NOTE_DISPLAY,
    )  # the partnering note's type (system, code, display): EHRs restrict note types


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """One conditional create: the resource, its full URL and what it references."""

    key: str  # stable within a plan: "goal-0", "careplan", "partnering-note", ...
    resource_type: str
    full_url: str  # "urn:uuid:<uuid5(plan_id/key)>"
    resource: Resource  # references to other planned writes use their full_url
    if_none_exist: str | None  # "identifier=<system>|<value>"
    depends_on: tuple[str, ...]  # keys whose full_url this resource references


def plan_writes(plan: AgreedPlan, options: WriteOptions = WriteOptions()) -> list[PlannedWrite]:
    """Every resource to write for `plan`, in dependency order, each validated with R4B.

    Provenance is not among them: it must name the written targets by their real ids, so the
    writer creates one per target with `provenance_for` once it knows them (conditional on
    `target=`), which also suits servers that accept a single target per Provenance.
    """
    writes: list[PlannedWrite] = []
    if options.plan_as_careplan:
        goals = [
            _write(plan, options, f"goal-{n}", f"goal/{plan.plan_id}/{n}", _goal(plan, n))
            for n, goal in enumerate(plan.goals)
            if has_words(goal.text)
        ]
        writes += goals
        careplan = _careplan(plan, [g.full_url for g in goals])
        writes.append(
            _write(
                plan,
                options,
                "careplan",
                f"careplan/{plan.plan_id}",
                careplan,
                tuple(g.key for g in goals),
            )
        )
    else:
        note = _document(
            plan, (codes.LOINC, codes.PLAN_OF_CARE_NOTE, codes.PLAN_OF_CARE_NOTE_DISPLAY)
        )
        note["content"] = [_plain_attachment(plan_text(plan), "Agreed plan")]
        writes.append(
            _write(plan, options, "plan-note", f"{codes.PLAN_NOTE_PREFIX}{plan.plan_id}", note)
        )
    partnering = plan.partnering_note
    if partnering is not None and _says_something(partnering):
        note = _document(plan, options.note_type)
        note["content"] = [_plain_attachment(partnering_text(plan, partnering), "Partnering note")]
        value = f"{codes.PARTNERING_NOTE_PREFIX}{plan.plan_id}"
        writes.append(_write(plan, options, "partnering-note", value, note))
        summary = preference_summary(partnering)
        if options.write_observation and has_words(summary):
            observation = _preference(plan, summary)
            writes.append(
                _write(
                    plan,
                    options,
                    "preference",
                    f"{codes.PREFERENCE_PREFIX}{plan.plan_id}",
                    observation,
                )
            )
    return writes


def provenance_for(
    target_ref: str, plan: AgreedPlan, options: WriteOptions = WriteOptions()
) -> Resource:
    """A Provenance for one written target ("CarePlan/123", or a version of it,
    "CarePlan/123/_history/2"), validated with R4B."""
    provenance: Resource = {
        "resourceType": "Provenance",
        "target": [{"reference": target_ref}],
        "recorded": _instant(plan.finished_at),
        "agent": [
            {
                "type": _concept(
                    codes.PROVENANCE_PARTICIPANT_TYPE, codes.PROVENANCE_AUTHOR, "Author"
                ),
                "who": {"reference": plan.practitioner_ref},
            },
            {
                # Flip as a logical Device reference: the app has no Device resource on every
                # server, and an identifier reference needs none
                # (https://hl7.org/fhir/R4/references.html#logical).
                "type": _concept(
                    codes.US_CORE_PROVENANCE_PARTICIPANT_TYPE,
                    codes.PROVENANCE_TRANSMITTER,
                    "Transmitter",
                ),
                "who": {
                    "type": "Device",
                    "identifier": {
                        "system": codes.identifier_system(options.base),
                        "value": FLIP_DEVICE_VALUE,
                    },
                    "display": "Flip",
                },
            },
        ],
    }
    return _validated(provenance)


def written_resource_ref(write: PlannedWrite, server_id: str) -> str:
    """The relative reference of a planned write once the server gave it an id."""
    return f"{write.resource_type}/{server_id}"


def resolve_references(resource: Resource, written: Mapping[str, str]) -> Resource:
    """A copy of `resource` with every `reference` that is a full_url in `written` replaced."""
    resolved = _resolve(resource, written)
    assert isinstance(resolved, dict)
    return resolved


def _resolve(value: object, written: Mapping[str, str]) -> object:
    if isinstance(value, dict):
        return {
            k: (
                written[v]
                if k == "reference" and isinstance(v, str) and v in written
                else _resolve(v, written)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_resolve(v, written) for v in value]
    return value


def _write(
    plan: AgreedPlan,
    options: WriteOptions,
    key: str,
    value: str,
    resource: Resource,
    depends_on: tuple[str, ...] = (),
) -> PlannedWrite:
    system = codes.identifier_system(options.base)
    resource["identifier"] = [{"system": system, "value": value}]
    if carries_words(resource, plan.private_words):
        # A teen's care-team-only words travel with their label: a parent's portal that
        # honours it never shows this resource (https://hl7.org/fhir/R4/security-labels.html).
        resource["meta"] = {"security": [dict(codes.RESTRICTED_LABEL)]}
    return PlannedWrite(
        key=key,
        resource_type=str(resource["resourceType"]),
        full_url=f"urn:uuid:{uuid.uuid5(_URL_NAMESPACE, f'{plan.plan_id}/{key}')}",
        resource=_validated(resource),
        if_none_exist=identifier_query(system, value),
        depends_on=depends_on,
    )


def _author(plan: AgreedPlan) -> Resource:
    # Who finished the plan: their reference, and their name where the chart gave one.
    author: Resource = {"reference": plan.practitioner_ref}
    if plan.practitioner_display and has_words(plan.practitioner_display):
        author["display"] = clean(plan.practitioner_display)
    return author


def _careplan(plan: AgreedPlan, goal_urls: list[str]) -> Resource:
    careplan: Resource = {
        "resourceType": "CarePlan",
        "text": {"status": "generated", "div": careplan_div(plan)},
        "status": "active",
        "intent": "plan",
        "category": [_concept(codes.CAREPLAN_CATEGORY, codes.ASSESS_PLAN, "Assessment and Plan")],
        "title": "Agreed plan",
        "subject": _patient(plan),
        # `created` is what the next visit's reader sorts plans by (clinician_items.py).
        "created": _instant(plan.finished_at),
        "period": {"start": _instant(plan.visit_start)},
        "author": _author(plan),
    }
    if plan.encounter_id:
        careplan["encounter"] = {"reference": f"Encounter/{plan.encounter_id}"}
    if plan.replaces:
        careplan["replaces"] = [{"reference": r} for r in plan.replaces]
    if goal_urls:
        careplan["goal"] = [{"reference": url} for url in goal_urls]
    activities = plan_activities(plan)
    if activities:
        careplan["activity"] = activities
    return careplan


def _goal(plan: AgreedPlan, number: int) -> Resource:
    goal = plan.goals[number]
    return {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": clean(goal.text)},  # the person's words, uncoded
        "subject": _patient(plan),
        "startDate": _day(plan.visit_start.date()),
        "expressedBy": {"reference": goal.expressed_by or f"Patient/{plan.patient_id}"},
    }


def _document(plan: AgreedPlan, note_type: tuple[str, str, str]) -> Resource:
    # Oracle Health's DocumentReference create takes at most one Practitioner author and
    # needs context with a period whose times are given
    # (https://docs.oracle.com/en/industries/health/millennium-platform-apis/mfdap/op-documentreference-post.html);
    # US Core asks for category, type, date and author too.
    context: Resource = {
        "period": {"start": _instant(plan.visit_start), "end": _instant(plan.finished_at)}
    }
    if plan.encounter_id:
        context["encounter"] = [{"reference": f"Encounter/{plan.encounter_id}"}]
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": "final",
        "type": _concept(*note_type),
        "category": [_concept(codes.DOCUMENT_CATEGORY, codes.CLINICAL_NOTE, "Clinical Note")],
        "subject": _patient(plan),
        "date": _instant(plan.finished_at),
        "author": [_author(plan)],
        "context": context,
    }


def _preference(plan: AgreedPlan, summary: str) -> Resource:
    # US Core Care Experience Preference; the patient states it, so the patient is the
    # performer. Effective at the visit start, when it was said: the partnering note, dated
    # when the visit finished, stays the newest source for the next visit (preference.py).
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [
            _concept(
                codes.US_CORE_CATEGORY,
                codes.CARE_EXPERIENCE_PREFERENCE_CATEGORY,
                "Care Experience Preference",
            )
        ],
        "code": _concept(
            codes.LOINC, codes.CARE_EXPERIENCE_PREFERENCE, codes.CARE_EXPERIENCE_PREFERENCE_DISPLAY
        ),
        "subject": _patient(plan),
        "effectiveDateTime": _instant(plan.visit_start),
        "performer": [_patient(plan)],
        "valueString": summary,
    }


def _says_something(note: PartneringNote) -> bool:
    return bool(note.style or note.learning_preferences or has_words(note.text))


def _plain_attachment(words: str, title: str) -> Resource:
    # Plain text so any EHR note viewer shows it; base64 as Attachment.data requires.
    data = base64.b64encode(words.encode("utf-8")).decode("ascii")
    return {"attachment": {"contentType": PLAIN_TEXT, "data": data, "title": title}}


def _patient(plan: AgreedPlan) -> Resource:
    return {"reference": f"Patient/{plan.patient_id}"}


def _concept(system: str, code: str, display: str) -> Resource:
    return {"coding": [{"system": system, "code": code, "display": display}], "text": display}


def _instant(moment: datetime) -> str:
    # Times and zone on every datetime: an instant needs both, and Oracle Health rejects notes
    # whose dates lack a time.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise MappingError("plan datetimes must be timezone-aware")
    return moment.isoformat(timespec="seconds")


def _day(day: date) -> str:
    return day.isoformat()


def identifier_query(system: str, value: str) -> str:
    """The `identifier=system|value` search of one identifier, escaped for a header."""
    return f"identifier={_search_value(system)}|{_search_value(value)}"


def _search_value(value: str) -> str:
    # Token search escapes `\ | , $` with a backslash (https://hl7.org/fhir/R4/search.html#escaping),
    # then the header is a URL query string, so percent-encode what a query cannot carry.
    for special in ("\\", "|", ",", "$"):
        value = value.replace(special, f"\\{special}")
    return quote(value, safe=":/")


def _validated(resource: Resource) -> Resource:
    resource_type = str(resource["resourceType"])
    try:
        get_fhir_model_class(resource_type).model_validate(resource)
    except ValidationError as exc:
        # Locations and error types only: the input values are the person's words (PHI).
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['type']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise MappingError(f"{resource_type} does not validate as R4: {problems}") from exc
    narrative = resource.get("text")
    if isinstance(narrative, dict):
        # The R4B models do not parse the XHTML; escaping makes it well-formed by construction,
        # and parsing proves it before a server or a note viewer sees it.
        try:
            ElementTree.fromstring(narrative["div"])  # noqa: S314 - our own output
        except ElementTree.ParseError as exc:
            raise MappingError(f"{resource_type} narrative is not well-formed XHTML") from exc
    return resource
