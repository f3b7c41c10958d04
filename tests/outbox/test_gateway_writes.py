"""The gateway's writes: conditional creates and transactions, never retried by itself."""

from __future__ import annotations

import time

import pytest

from launch.fhir_errors import FhirFatalError, FhirTemporaryError
from launch.gateway import FhirGateway, reference_from_location, written_reference
from smart_app.services import services
from tests.outbox.conftest import Chart

GOAL = {
    "resourceType": "Goal",
    "lifecycleStatus": "active",
    "description": {"text": "Swim the 200m"},
    "subject": {"reference": "Patient/p1"},
    "identifier": [{"system": "https://flip.example.org/identifier", "value": "goal/g1"}],
}
ONCE = "identifier=https://flip.example.org/identifier|goal/g1"


def gateway(chart: Chart, *, timeout_s: float = 5) -> FhirGateway:
    return FhirGateway(
        chart.opened.context.iss,
        chart.opened.tokens,
        http=services().launches.client.http,
        timeout_s=timeout_s,
    )


def test_conditional_create_answers_200_with_the_existing_id(chart: Chart) -> None:
    first = gateway(chart).create(GOAL, if_none_exist=ONCE)
    again = gateway(chart).create(GOAL, if_none_exist=ONCE)
    assert first[0] == 201 and first[1].startswith("Goal/")
    assert again == (200, first[1])
    assert len(chart.search("Goal", [("patient", "p1")])) == 1


def test_writes_are_not_retried_by_the_gateway(chart: Chart) -> None:
    chart.ehr.fault(status=503, count=1, methods=["POST"], path_prefix="/fhir")
    with pytest.raises(FhirTemporaryError) as raised:
        gateway(chart).create(GOAL, if_none_exist=ONCE)
    assert raised.value.status == 503
    assert raised.value.outcome == "Injected fault: HTTP 503"
    assert chart.search("Goal", [("patient", "p1")]) == []


def test_timeouts_and_dropped_connections_are_temporary(chart: Chart) -> None:
    chart.ehr.fault(drop=True, count=1, methods=["POST"], path_prefix="/fhir")
    with pytest.raises(FhirTemporaryError, match="could not be reached"):
        gateway(chart).create(GOAL, if_none_exist=ONCE)
    chart.ehr.fault(latency_ms=500, count=1, methods=["POST"], path_prefix="/fhir")
    with pytest.raises(FhirTemporaryError, match="in time"):
        gateway(chart, timeout_s=0.2).create(GOAL, if_none_exist=ONCE)
    time.sleep(0.5)  # the late request is still running on the server: the outbox waits too
    assert gateway(chart).create(GOAL, if_none_exist=ONCE)[0] == 200  # the late one wrote it


def test_a_refused_transaction_is_fatal_with_the_servers_message(chart: Chart) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "POST", "url": "Goal"}, "resource": {"x": 1}}],
    }
    with pytest.raises(FhirFatalError) as raised:
        gateway(chart).transaction(bundle)
    assert raised.value.status is not None and 400 <= raised.value.status < 500
    assert raised.value.outcome


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("https://ehr/fhir/Goal/12/_history/1", "Goal/12"),
        ("Goal/12/_history/3", "Goal/12"),
        ("https://ehr/fhir/Goal/12", "Goal/12"),
        ("https://ehr/fhir/CarePlan/12", None),
        (None, None),
    ],
)
def test_reference_from_location(location: str | None, expected: str | None) -> None:
    assert reference_from_location("Goal", location) == expected


def test_written_reference_prefers_the_returned_resource() -> None:
    body = {"resourceType": "Goal", "id": "7"}
    assert written_reference("Goal", body, {"Location": "https://e/Goal/8/_history/1"}) == "Goal/7"
    assert written_reference("Goal", None, {"Location": "https://e/Goal/8/_history/1"}) == "Goal/8"
