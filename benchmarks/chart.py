"""The benchmark patient's chart: a real agenda, plus filler Flip's searches must skip.

The agenda has all three sources (the teen's own concerns, her mother's, the
clinician's encounter reasons), so every launch renders a real flip. The filler is what
makes a chart big without changing the visit: Observations with other codes and
QuestionnaireResponses authored long before the pre-visit window.

The clinic charts are the clinic-start spike's (benchmarks/spike.py): one small chart per
clinician's patient, each with its own name and number one concern.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fhir_mappings import codes

PATIENT = "p1"
PATIENT_NAME = "Maya Jones"
ENCOUNTER = "e-visit"
PRACTITIONER = "dr1"
# Teen: number one + one other; mom: one; clinician: one unmatched encounter reason.
MIN_AGENDA_ITEMS = 3
SMALL_ANSWER_ITEMS = 2  # the teen's answer: her number one concern and one other
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
        teen_answer(now),
        _previsit(
            "qr-mom",
            "RelatedPerson/rp-mom",
            ["Her weight gain this winter"],
            now - timedelta(days=1),
        ),
    ]


def teen_answer(now: datetime, *, other_concerns: int = SMALL_ANSWER_ITEMS - 1) -> dict[str, Any]:
    """The teen's pre-visit answer; with thousands of other concerns, a big one to show."""
    others = ["Sleepovers"] + [f"Another worry {n}" for n in range(1, other_concerns)]
    return _previsit(
        "qr-teen",
        f"Patient/{PATIENT}",
        ["Lacrosse travel without my vest", *others],
        now - timedelta(days=2),
    )


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


# The clinic-start spike (benchmarks/spike.py): many patients, each its own small chart.
_GIVEN = ("Ava", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana")
_FAMILY = ("Ortiz", "Patel", "Quinn", "Reyes", "Sato", "Tran")
# Each clinic chart's agenda: the patient's number one concern and the encounter's reason.
CLINIC_AGENDA_ITEMS = 2


@dataclass(frozen=True, slots=True)
class ClinicPatient:
    """One clinician's patient: the ids of the launch, and what its page must show."""

    patient: str
    encounter: str
    practitioner: str
    name: str
    concern: str


def clinic_patients(count: int) -> list[ClinicPatient]:
    """`count` patients, each with a name and a number one concern no other one contains."""
    if count > len(_GIVEN) * len(_FAMILY):
        raise ValueError(f"at most {len(_GIVEN) * len(_FAMILY)} distinct patients")
    # Fixed-width numbers and names from fixed lists: no name or concern is a substring of
    # another, so finding one on a page means that patient's data is there.
    return [
        ClinicPatient(
            patient=f"spike-p{n:02d}",
            encounter=f"spike-e{n:02d}",
            practitioner=f"spike-dr{n:02d}",
            name=f"{_GIVEN[n % len(_GIVEN)]} {_FAMILY[n // len(_GIVEN)]}",
            concern=f"Spike worry {n:02d}x",
        )
        for n in range(count)
    ]


def clinic_chart(patient: ClinicPatient, now: datetime) -> list[dict[str, Any]]:
    """The patient, the clinician, the visit and the patient's pre-visit answers."""
    subject = {"reference": f"Patient/{patient.patient}"}
    given, family = patient.name.split()
    return [
        {
            "resourceType": "Practitioner",
            "id": patient.practitioner,
            "name": [{"family": "Clinician", "given": [patient.practitioner]}],
        },
        {
            "resourceType": "Patient",
            "id": patient.patient,
            "name": [{"given": [given], "family": family}],
        },
        {
            "resourceType": "Encounter",
            "id": patient.encounter,
            "status": "in-progress",
            "class": {"system": _ACT_CODE, "code": "AMB"},
            "subject": subject,
            "period": {"start": now.isoformat()},
            "reasonCode": [{"text": "Review FEV1 trend"}],
        },
        {
            "resourceType": "QuestionnaireResponse",
            "id": f"{patient.patient}-qr",
            "questionnaire": f"{codes.questionnaire_url()}|{codes.QUESTIONNAIRE_VERSION}",
            "status": "completed",
            "subject": subject,
            "author": subject,
            "authored": (now - timedelta(days=2)).isoformat(),
            "item": [
                {"linkId": "number-one-concern", "answer": [{"valueString": patient.concern}]}
            ],
        },
    ]
