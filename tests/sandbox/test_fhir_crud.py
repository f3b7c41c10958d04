"""FHIR read, create, update, conditional create, errors and metadata over real HTTP."""

from __future__ import annotations

from typing import Any

import requests
from fhir.resources.R4B.capabilitystatement import CapabilityStatement

from tests.conftest import LiveSandbox

FHIR_JSON = {"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"}


def post(base: str, path: str, body: Any, **headers: str) -> requests.Response:
    return requests.post(f"{base}/{path}", json=body, headers={**FHIR_JSON, **headers}, timeout=10)


def patient(family: str = "Rivera", **extra: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", "name": [{"family": family, "given": ["Ana"]}], **extra}


def assert_outcome(response: requests.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["severity"] == "error"
    return body


def test_fhir_create_then_read_returns_server_id_version_and_headers(sandbox: LiveSandbox) -> None:
    created = post(sandbox.open_fhir_base, "Patient", patient(id="client-chosen"))
    assert created.status_code == 201
    body = created.json()
    assert body["id"] != "client-chosen"
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"].endswith("Z")
    assert created.headers["ETag"] == 'W/"1"'
    location = f"{sandbox.open_fhir_base}/Patient/{body['id']}/_history/1"
    assert created.headers["Location"] == location

    read = requests.get(f"{sandbox.open_fhir_base}/Patient/{body['id']}", timeout=10)
    assert read.status_code == 200
    assert read.json() == body
    assert read.headers["ETag"] == 'W/"1"'


def test_fhir_update_bumps_version_and_rejects_stale_if_match(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    created = post(base, "Patient", patient()).json()
    url = f"{base}/Patient/{created['id']}"
    changed = {**created, "name": [{"family": "Moreno"}]}

    first = requests.put(url, json=changed, headers={"If-Match": 'W/"1"'}, timeout=10)
    assert first.status_code == 200
    assert first.json()["meta"]["versionId"] == "2"
    assert first.headers["ETag"] == 'W/"2"'

    stale = requests.put(url, json=created, headers={"If-Match": 'W/"1"'}, timeout=10)
    assert_outcome(stale, 412)
    assert requests.get(url, timeout=10).json()["name"][0]["family"] == "Moreno"


def test_fhir_put_to_unknown_id_creates_it(sandbox: LiveSandbox) -> None:
    url = f"{sandbox.open_fhir_base}/Patient/chosen-id"
    created = requests.put(url, json=patient(id="chosen-id"), timeout=10)
    assert created.status_code == 201
    assert created.json()["meta"]["versionId"] == "1"
    assert requests.get(url, timeout=10).json()["id"] == "chosen-id"


def test_fhir_conditional_create_is_idempotent(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    body = patient(identifier=[{"system": "urn:flip", "value": "visit-1"}])
    condition = "identifier=urn:flip|visit-1"
    first = post(base, "Patient", body, **{"If-None-Exist": condition})
    second = post(base, "Patient", body, **{"If-None-Exist": condition})
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json()["id"] == first.json()["id"]
    found = requests.get(f"{base}/Patient", params={"identifier": "urn:flip|visit-1"}, timeout=10)
    assert found.json()["total"] == 1


def test_fhir_conditional_create_with_several_matches_is_412(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    body = patient(identifier=[{"system": "urn:flip", "value": "twin"}])
    post(base, "Patient", body)
    post(base, "Patient", body)
    again = post(base, "Patient", body, **{"If-None-Exist": "identifier=urn:flip|twin"})
    assert_outcome(again, 412)


def test_fhir_errors_are_operation_outcomes(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    malformed = requests.post(f"{base}/Patient", data=b"{not json", headers=FHIR_JSON, timeout=10)
    assert "JSON" in assert_outcome(malformed, 400)["issue"][0]["diagnostics"]

    invalid = post(base, "Patient", {"resourceType": "Patient", "birthDate": "yesterday"})
    assert "birthDate" in assert_outcome(invalid, 400)["issue"][0]["diagnostics"]

    assert_outcome(post(base, "Patient", {"resourceType": "Patient", "colour": "red"}), 400)
    assert_outcome(post(base, "Patient", {"resourceType": "Observation"}), 400)
    assert_outcome(requests.get(f"{base}/Patient/nobody", timeout=10), 404)
    assert_outcome(requests.get(f"{base}/Spaceship/1", timeout=10), 404)
    assert_outcome(requests.get(f"{base}/Patient", params={"colour": "red"}, timeout=10), 400)
    assert_outcome(requests.delete(f"{base}/Patient/x", timeout=10), 405)


def test_fhir_protected_base_answers_401_with_challenge(sandbox: LiveSandbox) -> None:
    denied = requests.get(f"{sandbox.fhir_base}/Patient", timeout=10)
    assert_outcome(denied, 401)
    assert denied.headers["WWW-Authenticate"].startswith("Bearer")


def test_fhir_metadata_lists_types_params_and_bundles(sandbox: LiveSandbox) -> None:
    response = requests.get(f"{sandbox.open_fhir_base}/metadata", timeout=10)
    assert response.status_code == 200
    statement = response.json()
    CapabilityStatement.model_validate(statement)
    assert statement["fhirVersion"] == "4.0.1"
    rest = statement["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == {"batch", "transaction"}
    types = {r["type"]: r for r in rest["resource"]}
    assert {"Patient", "QuestionnaireResponse", "CarePlan", "Goal", "Provenance"} <= set(types)
    qr_params = {p["name"] for p in types["QuestionnaireResponse"]["searchParam"]}
    assert {"patient", "subject", "questionnaire", "authored", "status", "author"} <= qr_params
    assert "security" not in rest


def test_fhir_protected_metadata_declares_smart_oauth_uris(sandbox: LiveSandbox) -> None:
    statement = requests.get(f"{sandbox.fhir_base}/metadata", timeout=10).json()
    security = statement["rest"][0]["security"]
    assert security["service"][0]["coding"][0]["code"] == "SMART-on-FHIR"
    uris = {e["url"]: e["valueUri"] for e in security["extension"][0]["extension"]}
    assert uris == {
        "authorize": f"{sandbox.url}/auth/authorize",
        "token": f"{sandbox.url}/auth/token",
    }
    assert statement["implementation"]["url"] == sandbox.fhir_base


def test_fhir_open_base_refuses_non_loopback_clients(sandbox: LiveSandbox) -> None:
    client = sandbox.app.test_client()
    remote = client.get("/open/fhir/Patient", environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert remote.status_code == 403
    assert remote.json is not None
    assert remote.json["resourceType"] == "OperationOutcome"
    local = client.get("/open/fhir/Patient", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert local.status_code == 200
