"""The demo patients' pre-visit answers, as a patient portal would have sent them.

The sandbox plays the patient portal answering Flip's published Questionnaire, so it
repeats that Questionnaire's canonical URL and linkIds here (the public contract) instead
of importing the app: the sandbox stays a separate system. A preference already in the
chart is a US Core Care Experience Preference Observation (LOINC 95541-9,
https://hl7.org/fhir/us/core/STU7/StructureDefinition-us-core-care-experience-preference.html).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from ehr_sandbox.demo.people import PatientStory, PreVisitAnswer

Resource = dict[str, Any]

FLIP_BASE = "https://flip.example.org/fhir"
QUESTIONNAIRE = f"{FLIP_BASE}/Questionnaire/flip-previsit|1.1.0"
PARTNERING_STYLE = f"{FLIP_BASE}/CodeSystem/partnering-style"
LEARNING_PREFERENCE = f"{FLIP_BASE}/CodeSystem/learning-preference"
RESPONDENT = f"{FLIP_BASE}/CodeSystem/respondent"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
LOINC = "http://loinc.org"
# Families answer in the evening, after school and work.
ANSWERED_AT = time(19, 30)


def previsit_resources(
    person: PatientStory,
    patient_id: str,
    parent_ids: list[str],
    today: date,
    zone: tzinfo | None,
) -> list[Resource]:
    """The person's QuestionnaireResponses and care experience preference Observation."""
    authors = [f"Patient/{patient_id}", *(f"RelatedPerson/{p}" for p in parent_ids)]
    resources = [
        questionnaire_response(
            answer, f"{patient_id}-previsit-{n}", patient_id, authors, today, zone
        )
        for n, answer in enumerate(person.previsit, 1)
    ]
    if person.care_preference:
        resources.append(
            care_experience_preference(person.care_preference, patient_id, today, zone)
        )
    return resources


def questionnaire_response(
    answer: PreVisitAnswer,
    response_id: str,
    patient_id: str,
    authors: list[str],
    today: date,
    zone: tzinfo | None,
) -> Resource:
    """One completed QuestionnaireResponse to Flip's pre-visit Questionnaire."""
    authored = datetime.combine(today - timedelta(days=answer.days_ago), ANSWERED_AT, zone)
    items: list[Resource] = []
    if answer.concern:
        items.append(_item("number-one-concern", {"valueString": answer.concern}))
    items.append(_item("no-current-concern", {"valueBoolean": answer.no_concern}))
    if answer.others:
        items.append(_item("other-concerns", *({"valueString": o} for o in answer.others)))
    if answer.partnering:
        items.append(_item("partnering-style", _coding(PARTNERING_STYLE, answer.partnering)))
    if answer.learning:
        codings = (_coding(LEARNING_PREFERENCE, code) for code in answer.learning)
        items.append(_item("learning-preferences", *codings))
    if answer.language:
        items.append(_item("language", _coding("urn:ietf:bcp:47", answer.language)))
    who = "patient" if answer.by == 0 else "parent"
    items.append(_item("respondent", _coding(RESPONDENT, who)))
    items.append(_item("share-with-family", {"valueBoolean": answer.share_with_family}))
    return {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "questionnaire": QUESTIONNAIRE,
        "status": "completed",
        "subject": {"reference": f"Patient/{patient_id}"},
        "authored": authored.isoformat(),
        "author": {"reference": authors[answer.by]},
        "source": {"reference": authors[answer.by]},
        "item": items,
    }


def care_experience_preference(
    words: str, patient_id: str, today: date, zone: tzinfo | None
) -> Resource:
    """A US Core Care Experience Preference Observation recorded at the last visit."""
    recorded = datetime.combine(today - timedelta(days=90), time(14, 0), zone)
    return {
        "resourceType": "Observation",
        "id": f"{patient_id}-care-preference",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": US_CORE_CATEGORY,
                        "code": "care-experience-preference",
                        "display": "Care Experience Preference",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {"system": LOINC, "code": "95541-9", "display": "Care experience preference"}
            ],
            "text": "Care experience preference",
        },
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": recorded.isoformat(),
        "valueString": words,
    }


def _item(link_id: str, *answers: Resource) -> Resource:
    return {"linkId": link_id, "answer": list(answers)}


def _coding(system: str, code: str) -> Resource:
    return {"valueCoding": {"system": system, "code": code}}
