"""Scopes and the patient compartment, through a Flask app with a fake `access`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from ehr_sandbox.access import Access, AccessDenied
from ehr_sandbox.config import load_settings
from ehr_sandbox.db import Database
from ehr_sandbox.fhir.server import create_fhir_blueprint
from ehr_sandbox.state import EXTENSION_KEY, SandboxState


class Clients:
    """One app, two bases: `/open/fhir` for setup and `/fhir` with the scopes under test."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.scope = "patient/*.rs"
        self.denial: AccessDenied | None = None

    def access(self) -> Access:
        if self.denial is not None:
            raise self.denial
        return Access.from_scope_string(self.scope, patient="p1")

    def seed(self, resource: dict[str, Any]) -> None:
        url = f"/open/fhir/{resource['resourceType']}/{resource['id']}"
        assert self.client.put(url, json=resource).status_code == 201

    def get(self, path: str) -> Any:
        return self.client.get(f"/fhir/{path}")


@pytest.fixture
def clients(database_url: str) -> Iterator[Clients]:
    app = Flask(__name__)
    db = Database(database_url)
    app.extensions[EXTENSION_KEY] = SandboxState(settings=load_settings({}), db=db)
    holder: list[Clients] = []
    app.register_blueprint(
        create_fhir_blueprint(
            "fhir", "/fhir", access=lambda: holder[0].access(), loopback_only=False
        )
    )
    app.register_blueprint(
        create_fhir_blueprint("open_fhir", "/open/fhir", access=Access.open, loopback_only=True)
    )
    db.create_all()
    holder.append(Clients(app.test_client()))
    clients = holder[0]
    for patient_id in ("p1", "p2"):
        clients.seed({"resourceType": "Patient", "id": patient_id})
        clients.seed(
            {
                "resourceType": "Condition",
                "id": f"c-{patient_id}",
                "subject": {"reference": f"Patient/{patient_id}"},
            }
        )
    clients.seed({"resourceType": "Practitioner", "id": "dr"})
    yield clients
    db.dispose()


def condition(patient_id: str) -> dict[str, Any]:
    return {"resourceType": "Condition", "subject": {"reference": f"Patient/{patient_id}"}}


def test_fhir_patient_scope_reads_only_its_own_compartment(clients: Clients) -> None:
    assert clients.get("Patient/p1").status_code == 200
    assert clients.get("Condition/c-p1").status_code == 200
    assert clients.get("Patient/p2").status_code == 403
    assert clients.get("Condition/c-p2").status_code == 403
    # Shared resources (a practitioner) are outside every compartment, and readable.
    assert clients.get("Practitioner/dr").status_code == 200


def test_fhir_patient_scope_searches_are_restricted_silently(clients: Clients) -> None:
    everything = clients.get("Condition").json
    assert [e["resource"]["id"] for e in everything["entry"]] == ["c-p1"]
    assert clients.get("Condition?patient=p2").json["total"] == 0
    assert clients.get("Patient").json["total"] == 1


def test_fhir_patient_scope_writes_only_into_its_compartment(clients: Clients) -> None:
    clients.scope = "patient/Condition.crus"
    assert clients.client.post("/fhir/Condition", json=condition("p1")).status_code == 201
    other = clients.client.post("/fhir/Condition", json=condition("p2"))
    assert other.status_code == 403
    assert other.get_json()["resourceType"] == "OperationOutcome"
    moved = {**condition("p2"), "id": "c-p1"}
    assert clients.client.put("/fhir/Condition/c-p1", json=moved).status_code == 403
    assert clients.get("Condition/c-p1").json["subject"]["reference"] == "Patient/p1"


def test_fhir_missing_scope_is_403_and_user_scope_reaches_everything(clients: Clients) -> None:
    clients.scope = "patient/Patient.rs"
    assert clients.get("Condition/c-p1").status_code == 403
    assert clients.client.post("/fhir/Patient", json={"resourceType": "Patient"}).status_code == 403
    clients.scope = "user/*.rs"
    assert clients.get("Condition/c-p2").status_code == 200
    assert clients.get("Condition").json["total"] == 2


def test_fhir_access_denied_answers_its_status_and_challenge(clients: Clients) -> None:
    clients.denial = AccessDenied(
        401, "token expired", www_authenticate='Bearer error="invalid_token"'
    )
    denied = clients.get("Patient/p1")
    assert denied.status_code == 401
    assert denied.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert denied.json["issue"][0]["diagnostics"] == "token expired"
    # The CapabilityStatement stays public so clients can discover how to authorize.
    assert clients.get("metadata").status_code == 200
