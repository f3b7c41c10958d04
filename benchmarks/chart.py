"""The benchmark patient's chart: a real agenda, plus filler Flip's searches must skip.

The agenda has all three sources (the teen's own concerns, her mother's, the
clinician's encounter reasons), so every launch renders a real flip. The filler is what
makes a chart big without changing the visit: Observations with other codes and
QuestionnaireResponses authored long before the pre-visit window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fhir_mappings import codes

PATIENT = "p1"
PATIENT_NAME = "Maya Jones"
ENCOUNTER = "e-visit"
PRACTITIONER = "dr1"
# Teen: number one + one other; mom: one; clinician: one unmatched encounter reason.
MIN_AGENDA_ITEMS = 3
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
_HEART_RATE = "8867-4"


def _previsit(
    response_id: str, author: str, concerns: list[str], authored: datetime
) -> dict[str, Any]:
    items: list[dict[str, Any]] = [
        {"linkId": "number-one-concern", "answer": [{"valueString": concerns[0]}]}
    ]
    if concerns[1:]:
        items.append(
            {"linkId": "other-concerns", "answer": [{"valueString": c} for c in concerns[1:]]}
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "questionnaire": f"{codes.questionnaire_url()}|{codes.QUESTIONNAIRE_VERSION}",
        "status": "completed",
        "subject": {"reference": f"Patient/{PATIENT}"},
        "author": {"reference": author},
        "authored": authored.isoformat(),
        "item": items,
    }


def visit_chart(now: datetime) -> list[dict[str, Any]]:
    """The resources of one visit with a patient, a family and a clinician agenda."""
    patient_ref = {"reference": f"Patient/{PATIENT}"}
    given, family = PATIENT_NAME.split()
    return [
        {
            "resourceType": "Practitioner",
            "id": PRACTITIONER,
            "name": [{"family": "Osler", "given": ["Grace"]}],
        },
        {"resourceType": "Patient", "id": PATIENT, "name": [{"given": [given], "family": family}]},
        {
            "resourceType": "RelatedPerson",
            "id": "rp-mom",
            "patient": patient_ref,
            "name": [{"given": ["Dana"], "family": family}],
            "relationship": [{"coding": [{"system": codes.ROLE_CODE, "code": "MTH"}]}],
        },
        {
            "resourceType": "Encounter",
            "id": ENCOUNTER,
            "status": "in-progress",
            "class": {"system": _ACT_CODE, "code": "AMB"},
            "subject": patient_ref,
            "period": {"start": now.isoformat()},
            "reasonCode": [{"text": "Review FEV1 trend"}],
        },
        _previsit(
            "qr-teen",
            f"Patient/{PATIENT}",
            ["Lacrosse travel without my vest", "Sleepovers"],
            now - timedelta(days=2),
        ),
        _previsit(
            "qr-mom",
            "RelatedPerson/rp-mom",
            ["Her weight gain this winter"],
            now - timedelta(days=1),
        ),
    ]


def filler(start: int, stop: int, now: datetime) -> list[dict[str, Any]]:
    """Filler resources number `start` to `stop - 1`: half heart rates, half old answers."""
    resources: list[dict[str, Any]] = []
    for number in range(start, stop):
        when = (now - timedelta(days=400, minutes=number)).isoformat()
        if number % 2:
            resources.append(
                _previsit(f"qr-old-{number}", f"Patient/{PATIENT}", [f"Old concern {number}"], now)
                | {"authored": when}
            )
            continue
        resources.append(
            {
                "resourceType": "Observation",
                "id": f"hr-{number}",
                "status": "final",
                "code": {"coding": [{"system": codes.LOINC, "code": _HEART_RATE}]},
                "subject": {"reference": f"Patient/{PATIENT}"},
                "effectiveDateTime": when,
                "valueQuantity": {"value": 60 + number % 40, "unit": "/min"},
            }
        )
    return resources
