"""The sandbox's fault modes that write-back must survive: after, drop, probability, skip."""

from __future__ import annotations

import time

import pytest
import requests

from tests.conftest import LiveSandbox


def arm(sandbox: LiveSandbox, **fault: object) -> None:
    answer = requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=5)
    assert answer.status_code == 201, answer.text


def patients(sandbox: LiveSandbox) -> int:
    found = requests.get(f"{sandbox.open_fhir_base}/Patient", timeout=5).json()
    return len(found.get("entry") or [])


def test_fault_after_writes_then_answers_the_fault(sandbox: LiveSandbox) -> None:
    arm(sandbox, status=503, when="after", methods=["POST"], path_prefix="/open/fhir")
    answer = requests.post(
        f"{sandbox.open_fhir_base}/Patient", json={"resourceType": "Patient"}, timeout=5
    )
    assert answer.status_code == 503
    assert answer.json()["issue"][0]["diagnostics"] == "Injected fault: HTTP 503"
    assert patients(sandbox) == 1  # the response was lost, the write was not


def test_fault_before_answers_without_writing(sandbox: LiveSandbox) -> None:
    arm(sandbox, status=503, when="before", methods=["POST"], path_prefix="/open/fhir")
    answer = requests.post(
        f"{sandbox.open_fhir_base}/Patient", json={"resourceType": "Patient"}, timeout=5
    )
    assert answer.status_code == 503
    assert patients(sandbox) == 0


@pytest.mark.parametrize(("when", "written"), [("before", 0), ("after", 1)])
def test_fault_drop_resets_the_connection(sandbox: LiveSandbox, when: str, written: int) -> None:
    arm(sandbox, drop=True, when=when, methods=["POST"], path_prefix="/open/fhir")
    with pytest.raises(requests.ConnectionError):
        requests.post(
            f"{sandbox.open_fhir_base}/Patient", json={"resourceType": "Patient"}, timeout=5
        )
    assert patients(sandbox) == written


def test_fault_latency_after_times_out_a_write_that_happened(sandbox: LiveSandbox) -> None:
    arm(sandbox, latency_ms=600, when="after", methods=["POST"], path_prefix="/open/fhir")
    with pytest.raises(requests.Timeout):
        requests.post(
            f"{sandbox.open_fhir_base}/Patient", json={"resourceType": "Patient"}, timeout=0.2
        )
    time.sleep(0.5)  # let the sandbox finish its late answer before it stops
    assert patients(sandbox) == 1


def test_fault_probability_hits_some_requests_only(sandbox: LiveSandbox) -> None:
    arm(sandbox, status=500, count=None, probability=0.5, path_prefix="/open/fhir/Patient/x")
    codes = [
        requests.get(f"{sandbox.open_fhir_base}/Patient/x", timeout=5).status_code
        for _ in range(60)
    ]
    assert 5 < codes.count(500) < 55
    assert 404 in codes


def test_fault_skip_lets_the_first_matching_requests_through(sandbox: LiveSandbox) -> None:
    arm(sandbox, status=503, skip=2, path_prefix="/open/fhir/Patient/x")
    codes = [
        requests.get(f"{sandbox.open_fhir_base}/Patient/x", timeout=5).status_code for _ in range(4)
    ]
    assert codes == [404, 404, 503, 404]  # the third is hit, once (count 1)


@pytest.mark.parametrize(
    "fault",
    [{"when": "later"}, {"probability": 2}, {"probability": "often"}, {"skip": -1}],
    ids=["when", "probability-range", "probability-type", "skip-negative"],
)
def test_fault_with_bad_settings_is_refused(sandbox: LiveSandbox, fault: dict[str, object]) -> None:
    answer = requests.post(f"{sandbox.url}/_sandbox/faults", json=fault, timeout=5)
    assert answer.status_code == 400
    assert "bad fault" in answer.json()["error"]
