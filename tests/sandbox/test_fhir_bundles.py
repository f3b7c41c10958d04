"""Transaction and batch Bundles over real HTTP."""

from __future__ import annotations

from typing import Any

import requests

from tests.conftest import LiveSandbox

APP_ID = "https://flip.example/plan-id"


def post_bundle(base: str, kind: str, entries: list[dict[str, Any]]) -> requests.Response:
    bundle = {"resourceType": "Bundle", "type": kind, "entry": entries}
    return requests.post(base, json=bundle, timeout=10)


def total(base: str, path: str, **params: str) -> int:
    bundle = requests.get(f"{base}/{path}", params=params, timeout=10).json()
    count: int = bundle["total"]
    return count


def plan_entries(patient_url: str, plan_value: str) -> list[dict[str, Any]]:
    """A new Patient (by urn:uuid), a CarePlan and a Provenance that reference it."""
    plan = {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "identifier": [{"system": APP_ID, "value": plan_value}],
        "subject": {"reference": patient_url},
    }
    return [
        {
            "fullUrl": "urn:uuid:11111111-1111-4111-8111-111111111111",
            "resource": plan,
            "request": {
                "method": "POST",
                "url": "CarePlan",
                "ifNoneExist": f"identifier={APP_ID}|{plan_value}",
            },
        },
        {
            "resource": {
                "resourceType": "Provenance",
                "target": [{"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"}],
                "recorded": "2024-06-01T10:00:00Z",
                "agent": [{"who": {"display": "Flip"}}],
            },
            "request": {"method": "POST", "url": "Provenance"},
        },
    ]


def new_patient_entry() -> dict[str, Any]:
    return {
        "fullUrl": "urn:uuid:22222222-2222-4222-8222-222222222222",
        "resource": {"resourceType": "Patient", "name": [{"family": "Nwosu"}]},
        "request": {"method": "POST", "url": "Patient"},
    }


def test_fhir_transaction_resolves_urn_uuid_references(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    entries = [
        *plan_entries("urn:uuid:22222222-2222-4222-8222-222222222222", "p-1"),
        new_patient_entry(),
    ]
    response = post_bundle(base, "transaction", entries)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["type"] == "transaction-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["201 Created"] * 3
    plan, provenance, patient = (e["resource"] for e in result["entry"])
    assert plan["subject"]["reference"] == f"Patient/{patient['id']}"
    assert provenance["target"][0]["reference"] == f"CarePlan/{plan['id']}"
    # The Provenance lands in the patient's compartment through its target.
    assert total(base, "Provenance", patient=patient["id"]) == 1
    assert total(base, "CarePlan", patient=patient["id"]) == 1


def test_fhir_transaction_retry_with_if_none_exist_does_not_duplicate(
    sandbox: LiveSandbox,
) -> None:
    base = sandbox.open_fhir_base
    patient = requests.post(f"{base}/Patient", json={"resourceType": "Patient"}, timeout=10).json()
    entries = plan_entries(f"Patient/{patient['id']}", "retry-1")
    first = post_bundle(base, "transaction", entries).json()
    second = post_bundle(base, "transaction", entries).json()
    assert second["entry"][0]["response"]["status"] == "200 OK"
    assert second["entry"][0]["resource"]["id"] == first["entry"][0]["resource"]["id"]
    assert total(base, "CarePlan", identifier=f"{APP_ID}|retry-1") == 1
    # Both Provenance records point at the one plan.
    targets = {
        e["resource"]["target"][0]["reference"] for e in (first["entry"][1], second["entry"][1])
    }
    assert targets == {f"CarePlan/{first['entry'][0]['resource']['id']}"}


def test_fhir_transaction_with_an_invalid_entry_writes_nothing(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    entries = [
        *plan_entries("urn:uuid:22222222-2222-4222-8222-222222222222", "atomic"),
        new_patient_entry(),
        {
            "resource": {"resourceType": "Goal", "lifecycleStatus": "someday"},
            "request": {"method": "POST", "url": "Goal"},
        },
    ]
    response = post_bundle(base, "transaction", entries)
    assert response.status_code == 400
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "entry[3]" in outcome["issue"][0]["diagnostics"]
    assert total(base, "Patient") == 0
    assert total(base, "CarePlan") == 0
    assert total(base, "Provenance") == 0


def test_fhir_batch_entries_succeed_or_fail_on_their_own(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    patient = requests.post(f"{base}/Patient", json={"resourceType": "Patient"}, timeout=10).json()
    entries: list[dict[str, Any]] = [
        {"request": {"method": "GET", "url": f"Patient/{patient['id']}"}},
        {"request": {"method": "GET", "url": "Patient/missing"}},
        {
            "resource": {"resourceType": "Patient", "birthDate": "not a date"},
            "request": {"method": "POST", "url": "Patient"},
        },
        {
            "resource": {"resourceType": "Patient", "name": [{"family": "Added"}]},
            "request": {"method": "POST", "url": "Patient"},
        },
        {"request": {"method": "GET", "url": f"Patient?_id={patient['id']}"}},
    ]
    response = post_bundle(base, "batch", entries)
    assert response.status_code == 200
    result = response.json()
    assert result["type"] == "batch-response"
    statuses = [e["response"]["status"] for e in result["entry"]]
    assert statuses == ["200 OK", "404 Not Found", "400 Bad Request", "201 Created", "200 OK"]
    assert result["entry"][2]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert result["entry"][4]["resource"]["total"] == 1
    assert total(base, "Patient") == 2


def test_fhir_base_rejects_other_bundle_types(sandbox: LiveSandbox) -> None:
    response = post_bundle(sandbox.open_fhir_base, "collection", [])
    assert response.status_code == 400
    assert response.json()["resourceType"] == "OperationOutcome"
