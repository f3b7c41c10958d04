"""Real tokens on the real /fhir server: scopes per type and interaction, compartments."""

from __future__ import annotations

from typing import Any

import requests

from tests.sandbox.conftest import SmartFlow


def fhir(smart: SmartFlow, token: dict[str, Any], method: str, path: str, **kw: Any) -> Any:
    return requests.request(
        method,
        f"{smart.sandbox.fhir_base}/{path}",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
        **kw,
    )


def seed_two_patients(smart: SmartFlow) -> None:
    smart.seed("Patient", "p2", name=[{"family": "Okafor"}])
    for patient in ("p1", "p2"):
        smart.seed(
            "Observation",
            f"weight-{patient}",
            status="final",
            code={"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            subject={"reference": f"Patient/{patient}"},
        )


def test_a_patient_token_reaches_only_its_patients_data(smart: SmartFlow) -> None:
    seed_two_patients(smart)
    token = smart.ehr_token(scope="launch patient/Patient.rs patient/Observation.rs")
    assert fhir(smart, token, "GET", "Patient/p1").status_code == 200
    assert fhir(smart, token, "GET", "Patient/p2").status_code in (403, 404)
    assert fhir(smart, token, "GET", "Observation/weight-p2").status_code in (403, 404)
    found = fhir(smart, token, "GET", "Observation").json()
    subjects = {e["resource"]["subject"]["reference"] for e in found.get("entry", [])}
    assert subjects == {"Patient/p1"}
    other = fhir(smart, token, "GET", "Observation", params={"patient": "p2"}).json()
    assert other.get("entry", []) == []


def test_scopes_are_enforced_per_type_and_interaction(smart: SmartFlow) -> None:
    token = smart.ehr_token(scope="launch patient/Patient.r")
    assert fhir(smart, token, "GET", "Patient/p1").status_code == 200
    assert fhir(smart, token, "GET", "Patient", params={"_id": "p1"}).status_code == 403
    assert fhir(smart, token, "GET", "Encounter").status_code == 403
    created = fhir(
        smart,
        token,
        "POST",
        "Observation",
        json={"resourceType": "Observation", "status": "final", "code": {"text": "x"}},
    )
    assert created.status_code == 403
    assert created.json()["resourceType"] == "OperationOutcome"


def test_v1_write_scope_creates_only_in_the_launch_patients_compartment(
    smart: SmartFlow,
) -> None:
    seed_two_patients(smart)
    token = smart.ehr_token(scope="launch patient/Observation.write patient/Observation.read")
    body = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Care experience preference"},
    }
    mine = fhir(
        smart, token, "POST", "Observation", json={**body, "subject": {"reference": "Patient/p1"}}
    )
    theirs = fhir(
        smart, token, "POST", "Observation", json={**body, "subject": {"reference": "Patient/p2"}}
    )
    assert mine.status_code == 201
    assert theirs.status_code == 403


def test_a_user_token_reaches_every_patient(smart: SmartFlow) -> None:
    seed_two_patients(smart)
    token = smart.ehr_token(scope="launch user/Patient.rs user/Observation.rs")
    assert fhir(smart, token, "GET", "Patient/p2").status_code == 200
    found = fhir(smart, token, "GET", "Observation").json()
    assert {e["resource"]["id"] for e in found["entry"]} == {"weight-p1", "weight-p2"}
