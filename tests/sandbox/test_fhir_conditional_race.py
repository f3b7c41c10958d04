"""Conditional creates racing each other (a late request and its retry) create one resource."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests

from tests.conftest import LiveSandbox

IDENTIFIER = "https://flip.example.org/fhir/identifier|goal/race"


def test_concurrent_conditional_creates_make_exactly_one(sandbox: LiveSandbox) -> None:
    goal = {
        "resourceType": "Goal",
        "lifecycleStatus": "active",
        "description": {"text": "Play the whole season"},
        "subject": {"reference": "Patient/p1"},
        "identifier": [{"system": IDENTIFIER.split("|")[0], "value": "goal/race"}],
    }
    requests.put(
        f"{sandbox.open_fhir_base}/Patient/p1",
        json={"resourceType": "Patient", "id": "p1"},
        timeout=5,
    )

    def create(_: int) -> int:
        answer = requests.post(
            f"{sandbox.open_fhir_base}/Goal",
            json=goal,
            headers={"If-None-Exist": f"identifier={IDENTIFIER}"},
            timeout=30,
        )
        return answer.status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(create, range(16)))
    assert statuses.count(201) == 1
    assert set(statuses) == {200, 201}
    found = requests.get(
        f"{sandbox.open_fhir_base}/Goal", params={"identifier": IDENTIFIER}, timeout=5
    ).json()
    assert found["total"] == 1
