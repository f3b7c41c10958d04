"""Fault injection: armed faults hit exactly the matching requests, then stop."""

from __future__ import annotations

import requests

from tests.conftest import LiveSandbox


def test_faults_answer_armed_status_then_clear(sandbox: LiveSandbox) -> None:
    armed = requests.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"status": 503, "count": 2, "methods": ["GET"], "path_prefix": "/open/fhir"},
        timeout=5,
    )
    assert armed.status_code == 201
    first = requests.get(f"{sandbox.open_fhir_base}/Patient/x", timeout=5)
    second = requests.get(f"{sandbox.open_fhir_base}/Patient/x", timeout=5)
    third = requests.get(f"{sandbox.open_fhir_base}/Patient/x", timeout=5)
    assert [first.status_code, second.status_code] == [503, 503]
    assert first.headers["Retry-After"] == "1"
    assert first.json()["resourceType"] == "OperationOutcome"
    assert third.status_code != 503


def test_faults_match_only_their_methods(sandbox: LiveSandbox) -> None:
    requests.post(
        f"{sandbox.url}/_sandbox/faults",
        json={"status": 500, "count": None, "methods": ["POST"], "path_prefix": "/open/fhir"},
        timeout=5,
    )
    assert requests.get(f"{sandbox.open_fhir_base}/Patient/x", timeout=5).status_code != 500
    posted = requests.post(f"{sandbox.open_fhir_base}/Patient", json={}, timeout=5)
    assert posted.status_code == 500
    requests.delete(f"{sandbox.url}/_sandbox/faults", timeout=5)
    assert requests.post(f"{sandbox.open_fhir_base}/Patient", json={}, timeout=5).status_code != 500
