"""Turn the demo stories into one FHIR R4 transaction Bundle that any FHIR server loads.

Every entry is a PUT with a client-chosen id (`Patient/flip-demo-...`): loading the bundle
twice updates the same resources instead of duplicating them, on HAPI, the sandbox and
other servers that allow update-as-create. Dates are relative to `today`, because the
appointments must be today whenever the demo is seeded.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from ehr_sandbox.demo.people import Clinician, Measurement, Parent, PatientStory
from ehr_sandbox.demo.previsit import previsit_resources
from ehr_sandbox.demo.stories import CARE_TEAM, STORIES, clinician_by_slug

Resource = dict[str, Any]

ID_PREFIX = "flip-demo-"
MRN_SYSTEM = "http://flip.example.org/demo/mrn"
SNOMED = "http://snomed.info/sct"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
# Stable fullUrls: the same resource gets the same urn:uuid in every build.
_NAMESPACE = uuid.UUID("5b0f3c7e-2f7a-4c55-9d0e-6a1f1c0de001")

# code, display, unit, category per kind of Measurement. 20152-5 is "FEV1
# measured/predicted" (the % predicted clinicians quote); 20150-9 is FEV1 in litres, what a
# home spirometer reports. 29463-7 is the body weight code of the FHIR vital signs profile.
OBSERVATION_KINDS: dict[str, tuple[str, str, str, str]] = {
    "fev1_pct": ("20152-5", "FEV1 measured/predicted", "%", "exam"),
    "home_fev1": ("20150-9", "FEV1", "L", "exam"),
    "weight": ("29463-7", "Body weight", "kg", "vital-signs"),
}
CLINIC_MINUTES = 30


def build_demo_bundle(today: date, *, tz: tzinfo | None = None) -> dict[str, Any]:
    """A transaction Bundle of the demo clinic, with today's appointments on `today`."""
    zone = tz or datetime.now().astimezone().tzinfo
    resources: list[Resource] = [practitioner(c) for c in CARE_TEAM]
    for index, person in enumerate(STORIES):
        resources += patient_resources(person, today, zone, first_visit=index == 0)
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [_put_entry(r) for r in resources],
    }


def demo_practitioner_id() -> str:
    """The physician the sandbox's chart page signs in as by default."""
    return practitioner_id(CARE_TEAM[0])


def patient_id(person: PatientStory) -> str:
    """The Patient id of a demo story."""
    return f"{ID_PREFIX}{person.slug}"


def practitioner_id(clinician: Clinician) -> str:
    """The Practitioner id of a care-team member."""
    return f"{ID_PREFIX}{clinician.slug}"


def encounter_id(person: PatientStory) -> str:
    """The id of today's Encounter of a demo patient."""
    return f"{ID_PREFIX}{person.slug}-visit"


def practitioner(clinician: Clinician) -> Resource:
    """A Practitioner of the care team."""
    name: Resource = {"use": "official", "family": clinician.family, "given": [clinician.given]}
    if clinician.prefix:
        name["prefix"] = [clinician.prefix]
    return {
        "resourceType": "Practitioner",
        "id": practitioner_id(clinician),
        "active": True,
        "name": [name],
        # The sandbox stores no PractitionerRole; the training a role needs is the closest
        # Practitioner element, and text only avoids inventing a code.
        "qualification": [{"code": {"text": clinician.role}}],
    }


def patient_resources(
    person: PatientStory, today: date, zone: tzinfo | None, *, first_visit: bool
) -> list[Resource]:
    """Everything about one patient: family, condition, visit, data, pre-visit answers."""
    resources = [_patient(person, today)]
    family = [_related_person(person, p, n) for n, p in enumerate(person.parents, 1)]
    resources += family
    resources.append(_condition(person))
    day = today + timedelta(days=person.visit_day)
    start = datetime.combine(day, time.fromisoformat(person.visit_time), zone)
    resources.append(_appointment(person, start))
    if person.visit_day == 0:  # a later visit has no Encounter until the patient checks in
        resources.append(_encounter(person, start, in_progress=first_visit))
    resources += [
        _observation(person, m, n, today, zone) for n, m in enumerate(person.measurements, 1)
    ]
    parent_ids = [str(r["id"]) for r in family]
    resources += previsit_resources(person, patient_id(person), parent_ids, today, zone)
    return resources


def birth_date(today: date, years: int, months: int) -> date:
    """The birth date of someone `years` and `months` old on `today` (clamped to month end)."""
    total = today.year * 12 + (today.month - 1) - (years * 12 + months)
    year, month = divmod(total, 12)
    day = today.day
    while True:
        try:
            return date(year, month + 1, day)
        except ValueError:
            day -= 1  # 31 March minus one month is the end of February


def _patient(person: PatientStory, today: date) -> Resource:
    return {
        "resourceType": "Patient",
        "id": patient_id(person),
        "identifier": [
            {
                "use": "usual",
                "type": {
                    "coding": [
                        {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}
                    ],
                    "text": "MRN",
                },
                "system": MRN_SYSTEM,
                "value": _mrn(person),
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": person.family, "given": [person.given]}],
        "gender": person.gender,
        "birthDate": birth_date(today, person.age_years, person.age_months).isoformat(),
        "address": [{"use": "home", "city": person.city, "state": person.state, "country": "US"}],
        "communication": [
            {
                "language": {
                    "coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}],
                    "text": "English",
                },
                "preferred": True,
            }
        ],
    }


def _mrn(person: PatientStory) -> str:
    # Stable per person and readable: the position in the story table.
    return f"FLIP{STORIES.index(person) + 1:05d}"


def _related_person(person: PatientStory, parent: Parent, number: int) -> Resource:
    return {
        "resourceType": "RelatedPerson",
        "id": f"{patient_id(person)}-parent-{number}",
        "active": True,
        "patient": _ref("Patient", patient_id(person)),
        "relationship": [
            {"coding": [{"system": ROLE_CODE, "code": parent.relationship}]},
        ],
        "name": [{"use": "official", "family": parent.family, "given": [parent.given]}],
        "gender": parent.gender,
    }


def _condition(person: PatientStory) -> Resource:
    return {
        "resourceType": "Condition",
        "id": f"{patient_id(person)}-condition",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [{"coding": [{"system": CONDITION_CATEGORY, "code": "problem-list-item"}]}],
        "code": {
            "coding": [
                {
                    "system": SNOMED,
                    "code": person.diagnosis.code,
                    "display": person.diagnosis.display,
                }
            ],
            "text": person.diagnosis.display,
        },
        "subject": _ref("Patient", patient_id(person)),
    }


def _appointment(person: PatientStory, start: datetime) -> Resource:
    clinician = clinician_by_slug(person.clinician)
    return {
        "resourceType": "Appointment",
        "id": f"{patient_id(person)}-appointment",
        "status": "booked",
        "reasonCode": [{"text": person.reason}],
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=CLINIC_MINUTES)).isoformat(),
        "minutesDuration": CLINIC_MINUTES,
        "participant": [
            {"actor": _ref("Patient", patient_id(person)), "status": "accepted"},
            {"actor": _ref("Practitioner", practitioner_id(clinician)), "status": "accepted"},
        ],
    }


def _encounter(person: PatientStory, start: datetime, *, in_progress: bool) -> Resource:
    clinician = clinician_by_slug(person.clinician)
    return {
        "resourceType": "Encounter",
        "id": encounter_id(person),
        # The first patient of the day is in the room; the others have checked in.
        "status": "in-progress" if in_progress else "arrived",
        "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
        "subject": _ref("Patient", patient_id(person)),
        "participant": [{"individual": _ref("Practitioner", practitioner_id(clinician))}],
        "appointment": [_ref("Appointment", f"{patient_id(person)}-appointment")],
        "period": {"start": start.isoformat()},
        "reasonCode": [{"text": person.reason}],
    }


def _observation(
    person: PatientStory, measurement: Measurement, number: int, today: date, zone: tzinfo | None
) -> Resource:
    code, display, unit, category = OBSERVATION_KINDS[measurement.kind]
    # Clinic measurements are taken at 08:00; home readings in the evening.
    hour = time(20, 0) if measurement.kind.startswith("home_") else time(8, 0)
    when = datetime.combine(today - timedelta(days=measurement.days_ago), hour, zone)
    observation: Resource = {
        "resourceType": "Observation",
        "id": f"{patient_id(person)}-obs-{number}",
        "status": "final",
        "category": [{"coding": [{"system": OBSERVATION_CATEGORY, "code": category}]}],
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": display},
        "subject": _ref("Patient", patient_id(person)),
        "effectiveDateTime": when.isoformat(),
        "valueQuantity": {"value": measurement.value, "unit": unit, "system": UCUM, "code": unit},
    }
    if measurement.kind.startswith("home_"):
        observation["method"] = {"text": "Home spirometer"}
    return observation


def _ref(resource_type: str, resource_id: str) -> dict[str, str]:
    return {"reference": f"{resource_type}/{resource_id}"}


def _put_entry(resource: Resource) -> Resource:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {
        "fullUrl": f"urn:uuid:{uuid.uuid5(_NAMESPACE, url)}",
        "resource": resource,
        "request": {"method": "PUT", "url": url},
    }
