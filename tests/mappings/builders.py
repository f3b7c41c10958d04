"""Hand-built chart resources for the mapping tests: one family, one visit, in New York."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fhir_mappings.codes import (
    CARE_EXPERIENCE_PREFERENCE,
    LOINC,
    identifier_system,
    learning_preference_system,
    partnering_style_system,
    questionnaire_url,
    respondent_system,
)
from fhir_mappings.visit_model import VisitInputs
from fhir_mappings.visit_reading import read_visit

Resource = dict[str, Any]

NEW_YORK = ZoneInfo("America/New_York")
# A visit at 10:00 in New York, the day after the autumn clock change.
VISIT_START = datetime(2025, 11, 3, 10, 0, tzinfo=NEW_YORK)
WINDOW = timedelta(days=14)
PATIENT_ID = "teen-1"
FLIP = questionnaire_url()


def when(days_before: float) -> str:
    """An ISO dateTime `days_before` the visit, in New York time."""
    return (VISIT_START - timedelta(days=days_before)).isoformat()


def patient(given: str = "Maya", patient_id: str = PATIENT_ID) -> Resource:
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "name": [{"use": "official", "family": "Rivera", "given": [given]}],
    }


def related_person(
    person_id: str, code: str, given: str = "Ana", patient_id: str = PATIENT_ID
) -> Resource:
    return {
        "resourceType": "RelatedPerson",
        "id": person_id,
        "patient": {"reference": f"Patient/{patient_id}"},
        "relationship": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": code}
                ]
            }
        ],
        "name": [{"family": "Rivera", "given": [given]}],
    }


def answer_items(
    *,
    concern: str | None = None,
    no_concern: bool | None = None,
    others: tuple[str, ...] = (),
    style: str | None = None,
    learning: tuple[str, ...] = (),
    language: str | None = None,
    respondent: str | None = None,
    share: bool | None = None,
) -> list[Resource]:
    items: list[Resource] = []
    if concern is not None:
        items.append({"linkId": "number-one-concern", "answer": [{"valueString": concern}]})
    if no_concern is not None:
        items.append({"linkId": "no-current-concern", "answer": [{"valueBoolean": no_concern}]})
    if others:
        items.append({"linkId": "other-concerns", "answer": [{"valueString": o} for o in others]})
    if style is not None:
        coding = {"system": partnering_style_system(), "code": style}
        items.append({"linkId": "partnering-style", "answer": [{"valueCoding": coding}]})
    if learning:
        system = learning_preference_system()
        items.append(
            {
                "linkId": "learning-preferences",
                "answer": [{"valueCoding": {"system": system, "code": c}} for c in learning],
            }
        )
    if language is not None:
        coding = {"system": "urn:ietf:bcp:47", "code": language}
        items.append({"linkId": "language", "answer": [{"valueCoding": coding}]})
    if respondent is not None:
        coding = {"system": respondent_system(), "code": respondent}
        items.append({"linkId": "respondent", "answer": [{"valueCoding": coding}]})
    if share is not None:
        items.append({"linkId": "share-with-family", "answer": [{"valueBoolean": share}]})
    return items


def response(
    response_id: str,
    author: str,
    days_before: float,
    *,
    questionnaire: str = f"{FLIP}|1.0.0",
    status: str = "completed",
    subject: str = f"Patient/{PATIENT_ID}",
    items: list[Resource] | None = None,
    **answers: Any,
) -> Resource:
    return {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "questionnaire": questionnaire,
        "status": status,
        "subject": {"reference": subject},
        "authored": when(days_before),
        "author": {"reference": author},
        "item": items if items is not None else answer_items(**answers),
    }


def preference_observation(obs_id: str, words: str, days_before: float) -> Resource:
    return {
        "resourceType": "Observation",
        "id": obs_id,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://hl7.org/fhir/us/core/CodeSystem/us-core-category",
                        "code": "care-experience-preference",
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": LOINC, "code": CARE_EXPERIENCE_PREFERENCE}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "effectiveDateTime": when(days_before),
        "valueString": words,
    }


def partnering_note(doc_id: str, words: str, days_before: float) -> Resource:
    return {
        "resourceType": "DocumentReference",
        "id": doc_id,
        "identifier": [{"system": identifier_system(), "value": f"partnering-note/{doc_id}"}],
        "status": "current",
        "type": {"coding": [{"system": LOINC, "code": "11506-3"}]},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "date": when(days_before),
        "author": [{"reference": "Practitioner/dr", "display": "Dr. Okafor"}],
        "content": [
            {
                "attachment": {
                    "contentType": "text/plain; charset=utf-8",
                    "data": base64.b64encode(words.encode()).decode(),
                }
            }
        ],
    }


def flip_plan(plan_id: str, days_before: float, *, status: str = "active") -> Resource:
    return {
        "resourceType": "CarePlan",
        "id": plan_id,
        "identifier": [{"system": identifier_system(), "value": f"plan/{plan_id}"}],
        "status": status,
        "intent": "plan",
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "created": when(days_before),
        "goal": [{"reference": "Goal/g1"}],
        "activity": [
            {"detail": {"status": "not-started", "description": "Airway clearance twice a day"}},
            {"detail": {"status": "completed", "description": "Throat culture"}},
            {
                "detail": {
                    "status": "scheduled",
                    "code": {
                        "coding": [{"system": "http://snomed.info/sct", "code": "127783003"}],
                        "text": "Spirometry at next visit",
                    },
                }
            },
            {"detail": {"status": "cancelled", "description": "Sweat test"}},
        ],
    }


def goal(goal_id: str, words: str, *, status: str = "active", flip: bool = False) -> Resource:
    resource: Resource = {
        "resourceType": "Goal",
        "id": goal_id,
        "lifecycleStatus": status,
        "description": {"text": words},
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
    }
    if flip:
        resource["identifier"] = [{"system": identifier_system(), "value": f"goal/{goal_id}"}]
    return resource


def encounter(reasons: list[str] | None = None) -> Resource:
    resource: Resource = {
        "resourceType": "Encounter",
        "id": "enc-1",
        "status": "arrived",
        "class": {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
            "code": "AMB",
        },
        "subject": {"reference": f"Patient/{PATIENT_ID}"},
        "appointment": [{"reference": "Appointment/appt-1"}],
    }
    if reasons:
        resource["reasonCode"] = [{"text": r} for r in reasons]
    return resource


def appointment(reason: str, appointment_id: str = "appt-1") -> Resource:
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": "booked",
        "reasonCode": [{"text": reason}],
        "participant": [{"actor": {"reference": f"Patient/{PATIENT_ID}"}, "status": "accepted"}],
    }


def read(**overrides: Any) -> VisitInputs:
    """read_visit with an empty chart, the teen's Patient and New York visit time."""
    arguments: dict[str, Any] = {
        "patient_id": PATIENT_ID,
        "encounter": None,
        "appointments": [],
        "questionnaire_responses": [],
        "related_persons": [],
        "observations": [],
        "document_references": [],
        "care_plans": [],
        "goals": [],
        "visit_start": VISIT_START,
        "window": WINDOW,
        "patient": patient(),
    }
    arguments.update(overrides)
    return read_visit(**arguments)
