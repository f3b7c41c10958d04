"""Write-rule profiles over real HTTP: what /fhir says it allows is what it allows.

The expected rules are written out here from the vendors' documentation (see
ehr_sandbox/fhir/profiles.py for the citations), not read from the profile table, so a
wrong table fails these tests instead of agreeing with itself.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from flask import Flask

from ehr_sandbox.fhir import profiles
from ehr_sandbox.fhir.resources import SUPPORTED_TYPES
from flip_cli import main
from tests.conftest import start_sandbox
from tests.sandbox.conftest import SmartFlow

CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
US_CORE_CATEGORY = "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
PATIENT = {"reference": "Patient/p1"}

# Per profile: the write interactions of each type (others: read and search only), and
# the system interactions of the base.
EXPECTED: dict[str, tuple[dict[str, set[str]], set[str]]] = {
    "open": ({t: {"create", "update"} for t in SUPPORTED_TYPES}, {"batch", "transaction"}),
    "epic-like": (
        {
            "DocumentReference": {"create"},
            "Observation": {"create"},
            "QuestionnaireResponse": {"create"},
        },
        {"batch"},
    ),
    "oracle-like": (
        {
            "DocumentReference": {"create", "update"},
            "Observation": {"create"},
            "Provenance": {"create"},
        },
        {"batch"},
    ),
}


def observation(category: str, *, system: str = CATEGORY) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": system, "code": category}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": PATIENT,
        "valueQuantity": {"value": 72, "unit": "/min"},
    }


NOTE_TEXT = base64.b64encode(b"Partnering note").decode()
RESOURCES: dict[str, dict[str, Any]] = {
    "CarePlan": {
        "resourceType": "CarePlan",
        "status": "active",
        "intent": "plan",
        "subject": PATIENT,
    },
    "Goal": {
        "resourceType": "Goal",
        "lifecycleStatus": "proposed",
        "description": {"text": "Walk to school"},
        "subject": PATIENT,
    },
    "Provenance": {
        "resourceType": "Provenance",
        "target": [PATIENT],
        "recorded": "2024-06-01T10:00:00Z",
        "agent": [{"who": {"display": "Flip"}}],
    },
    "QuestionnaireResponse": {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": PATIENT,
    },
    "DocumentReference": {
        "resourceType": "DocumentReference",
        "status": "current",
        "subject": PATIENT,
        "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3"}]},
        "content": [{"attachment": {"contentType": "text/plain", "data": NOTE_TEXT}}],
    },
    "Observation": observation("vital-signs"),
}

REFUSED_CREATES = [
    ("epic-like", "CarePlan"),
    ("epic-like", "Goal"),
    ("epic-like", "Provenance"),
    ("oracle-like", "CarePlan"),
    ("oracle-like", "Goal"),
    ("oracle-like", "QuestionnaireResponse"),
]
ALLOWED_CREATES = [
    *(("open", t) for t in RESOURCES),
    ("epic-like", "DocumentReference"),
    ("epic-like", "QuestionnaireResponse"),
    ("epic-like", "Observation"),
    ("oracle-like", "DocumentReference"),
    ("oracle-like", "Provenance"),
    ("oracle-like", "Observation"),
]


@dataclass
class Ehr:
    """A live sandbox on one profile, and a real token for patient p1 from an EHR launch."""

    smart: SmartFlow
    token: str

    def fhir(self, method: str, path: str = "", **kw: Any) -> requests.Response:
        """A request to the SMART-protected base, with the bearer token."""
        headers = {"Authorization": f"Bearer {self.token}"}
        url = f"{self.smart.sandbox.fhir_base}/{path}".rstrip("/")
        return requests.request(method, url, headers=headers, timeout=10, **kw)

    def open(self, method: str, path: str = "", **kw: Any) -> requests.Response:
        """A request to the loopback base, which keeps every write on every profile."""
        url = f"{self.smart.sandbox.open_fhir_base}/{path}".rstrip("/")
        return requests.request(method, url, timeout=10, **kw)

    def stored(self, resource_type: str) -> int:
        """How many resources of this type the sandbox holds (read through the open base)."""
        count: int = self.open("GET", resource_type).json()["total"]
        return count


def start_ehr(database_url: str, profile: str) -> Iterator[Ehr]:
    for sandbox in start_sandbox(database_url, profile=profile):
        smart = SmartFlow(sandbox)
        smart.register()
        smart.seed("Patient", "p1", name=[{"family": "Jones"}])
        token = smart.ehr_token(scope="launch patient/*.cruds")["access_token"]
        yield Ehr(smart, token)


@pytest.fixture
def ehr(request: pytest.FixtureRequest, database_url: str) -> Iterator[Ehr]:
    """A sandbox on the profile named by the test's `profile` parameter."""
    # `profile` is a plain parametrize argument, so the test can also name it in asserts.
    yield from start_ehr(database_url, request.node.callspec.params["profile"])


def assert_refused(response: requests.Response, status: int = 405) -> str:
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    diagnostics: str = outcome["issue"][0]["diagnostics"]
    return diagnostics


def transaction(*types: str) -> dict[str, Any]:
    entries = [{"resource": RESOURCES[t], "request": {"method": "POST", "url": t}} for t in types]
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


@pytest.mark.parametrize("profile", list(EXPECTED))
def test_profile_capability_statement_lists_exactly_the_allowed_interactions(
    ehr: Ehr, profile: str
) -> None:
    writes, system = EXPECTED[profile]
    rest = ehr.fhir("GET", "metadata").json()["rest"][0]
    assert {i["code"] for i in rest["interaction"]} == system
    listed = {r["type"]: {i["code"] for i in r["interaction"]} for r in rest["resource"]}
    assert set(listed) == set(SUPPORTED_TYPES)
    for resource_type, codes in listed.items():
        assert codes == {"read", "search-type"} | writes.get(resource_type, set()), resource_type
    # The loopback base keeps listing every write, whatever the profile.
    open_rest = ehr.open("GET", "metadata").json()["rest"][0]
    assert {i["code"] for i in open_rest["interaction"]} == {"batch", "transaction"}
    for resource in open_rest["resource"]:
        assert {"create", "update"} <= {i["code"] for i in resource["interaction"]}


@pytest.mark.parametrize(("profile", "resource_type"), REFUSED_CREATES)
def test_profile_refused_create_answers_405_and_stores_nothing(
    ehr: Ehr, profile: str, resource_type: str
) -> None:
    diagnostics = assert_refused(ehr.fhir("POST", resource_type, json=RESOURCES[resource_type]))
    assert f"create of {resource_type}" in diagnostics
    assert profile in diagnostics
    assert ehr.stored(resource_type) == 0


@pytest.mark.parametrize(("profile", "resource_type"), ALLOWED_CREATES)
def test_profile_allowed_create_is_stored(ehr: Ehr, profile: str, resource_type: str) -> None:
    created = ehr.fhir("POST", resource_type, json=RESOURCES[resource_type])
    assert created.status_code == 201, created.text
    read = ehr.fhir("GET", f"{resource_type}/{created.json()['id']}")
    assert read.status_code == 200
    assert ehr.stored(resource_type) == 1


@pytest.mark.parametrize(
    ("profile", "accepted", "refused"),
    [
        ("epic-like", ["vital-signs"], ["laboratory", "survey", "care-experience-preference"]),
        ("oracle-like", ["vital-signs", "laboratory"], ["survey", "care-experience-preference"]),
    ],
)
def test_profile_observation_create_takes_only_the_vendors_categories(
    ehr: Ehr, profile: str, accepted: list[str], refused: list[str]
) -> None:
    for category in accepted:
        assert ehr.fhir("POST", "Observation", json=observation(category)).status_code == 201
    for category in refused:
        diagnostics = assert_refused(
            ehr.fhir("POST", "Observation", json=observation(category)), 422
        )
        assert "vital-signs" in diagnostics
    # The right code in another system, and no category at all, are refused as well.
    elsewhere = observation("vital-signs", system=US_CORE_CATEGORY)
    assert_refused(ehr.fhir("POST", "Observation", json=elsewhere), 422)
    uncategorised = {k: v for k, v in observation("vital-signs").items() if k != "category"}
    assert_refused(ehr.fhir("POST", "Observation", json=uncategorised), 422)
    assert ehr.stored("Observation") == len(accepted)


@pytest.mark.parametrize("profile", ["epic-like", "oracle-like"])
def test_profile_transaction_with_a_refused_entry_fails_whole(ehr: Ehr, profile: str) -> None:
    # The note alone is allowed; the CarePlan beside it is not, and neither is stored.
    response = ehr.fhir("POST", json=transaction("DocumentReference", "CarePlan"))
    assert_refused(response)
    assert ehr.stored("DocumentReference") == 0
    assert ehr.stored("CarePlan") == 0
    # Neither vendor takes transaction writes at all: allowed entries alone fail too, so
    # the app learns to write each resource on its own.
    alone = ehr.fhir("POST", json=transaction("DocumentReference"))
    assert "transaction Bundles" in assert_refused(alone)
    assert ehr.stored("DocumentReference") == 0


@pytest.fixture
def strict_ehr(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Ehr]:
    """A sandbox whose profile takes transactions but, like Epic, no CarePlan create."""
    strict = replace(profiles.EPIC_LIKE, name="strict", transaction=True)
    monkeypatch.setitem(profiles.PROFILES, "strict", strict)
    yield from start_ehr(database_url, "strict")


def test_profile_transaction_entry_refused_rolls_back_every_entry(strict_ehr: Ehr) -> None:
    # The refusal of one entry must undo the entries that ran before it.
    response = strict_ehr.fhir("POST", json=transaction("DocumentReference", "CarePlan"))
    assert "entry[1]" in assert_refused(response)
    assert strict_ehr.stored("DocumentReference") == 0
    accepted = strict_ehr.fhir("POST", json=transaction("DocumentReference", "Observation"))
    assert accepted.status_code == 200, accepted.text
    assert strict_ehr.stored("DocumentReference") == 1


@pytest.mark.parametrize("profile", ["epic-like", "oracle-like"])
def test_profile_batch_refused_entry_gets_its_own_405(ehr: Ehr, profile: str) -> None:
    entries = [
        *transaction("DocumentReference", "CarePlan")["entry"],
        {"request": {"method": "GET", "url": "Patient?_id=p1"}},
    ]
    response = ehr.fhir("POST", json={"resourceType": "Bundle", "type": "batch", "entry": entries})
    assert response.status_code == 200, response.text
    answers = response.json()["entry"]
    statuses = [e["response"]["status"] for e in answers]
    assert statuses == ["201 Created", "405 Method Not Allowed", "200 OK"]
    assert answers[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert answers[2]["resource"]["total"] == 1
    assert ehr.stored("DocumentReference") == 1
    assert ehr.stored("CarePlan") == 0


@pytest.mark.parametrize("profile", list(EXPECTED))
def test_profile_updates_follow_the_vendors_rules(ehr: Ehr, profile: str) -> None:
    writes, _ = EXPECTED[profile]
    for resource_type in ("CarePlan", "Goal", "DocumentReference"):
        seeded = ehr.open("POST", resource_type, json=RESOURCES[resource_type]).json()
        changed = {**seeded, "meta": {}, "text": {"status": "generated", "div": "<div>x</div>"}}
        response = ehr.fhir("PUT", f"{resource_type}/{seeded['id']}", json=changed)
        if "update" in writes.get(resource_type, set()):
            assert response.status_code == 200, response.text
            assert response.json()["meta"]["versionId"] == "2"
        else:
            assert f"update of {resource_type}" in assert_refused(response)
            kept = ehr.open("GET", f"{resource_type}/{seeded['id']}").json()
            assert kept["meta"]["versionId"] == "1"


@pytest.mark.parametrize("profile", ["oracle-like"])
def test_profile_vendor_update_does_not_create_at_a_client_id(ehr: Ehr, profile: str) -> None:
    note = {**RESOURCES["DocumentReference"], "id": "client-chosen"}
    assert_refused(ehr.fhir("PUT", "DocumentReference/client-chosen", json=note))
    assert ehr.stored("DocumentReference") == 0
    metadata = ehr.fhir("GET", "metadata").json()["rest"][0]["resource"]
    assert not any(r["updateCreate"] for r in metadata)


@pytest.mark.parametrize("profile", list(EXPECTED))
def test_profile_reads_and_searches_are_unchanged(ehr: Ehr, profile: str) -> None:
    plan = ehr.open("POST", "CarePlan", json=RESOURCES["CarePlan"]).json()
    assert ehr.fhir("GET", f"CarePlan/{plan['id']}").status_code == 200
    found = ehr.fhir("GET", "CarePlan", params={"patient": "p1"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == [plan["id"]]
    search = {"request": {"method": "GET", "url": "CarePlan?patient=p1"}}
    read_batch = {"resourceType": "Bundle", "type": "batch", "entry": [search]}
    assert ehr.fhir("POST", json=read_batch).json()["entry"][0]["resource"]["total"] == 1


@pytest.mark.parametrize("profile", ["epic-like", "oracle-like"])
def test_profile_open_base_still_accepts_every_write(ehr: Ehr, profile: str) -> None:
    for resource_type, resource in RESOURCES.items():
        assert ehr.open("POST", resource_type, json=resource).status_code == 201, resource_type
    assert ehr.open("POST", "Observation", json=observation("survey")).status_code == 201
    plan = ehr.open("GET", "CarePlan").json()["entry"][0]["resource"]
    assert ehr.open("PUT", f"CarePlan/{plan['id']}", json=plan).status_code == 200
    response = ehr.open("POST", json=transaction("CarePlan", "Goal", "Provenance"))
    assert response.status_code == 200, response.text
    assert ehr.stored("CarePlan") == 2


def test_profile_unknown_name_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="epic-like"):
        next(start_sandbox(f"sqlite:///{tmp_path / 'x.sqlite3'}", profile="epic"))


def served_app(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Flask | None]:
    """Run `flip sandbox serve ARGS`, catching the app it would serve instead of serving it."""
    served: dict[str, Flask] = {}
    monkeypatch.setattr(
        "werkzeug.serving.run_simple", lambda host, port, app, **kw: served.setdefault("app", app)
    )
    result = CliRunner().invoke(main, ["sandbox", "serve", *args])
    return result, served.get("app")


def creatable(app: Flask) -> set[str]:
    statement = app.test_client().get("/fhir/metadata").get_json()
    return {
        r["type"]
        for r in statement["rest"][0]["resource"]
        if any(i["code"] == "create" for i in r["interaction"])
    }


def test_profile_cli_serve_takes_the_profile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FLIP_SANDBOX_PROFILE", raising=False)
    help_text = CliRunner().invoke(main, ["sandbox", "serve", "--help"]).output
    assert "--profile [open|epic-like|oracle-like]" in help_text
    database = ["--database-url", f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"]
    result, app = served_app([*database, "--profile", "epic-like"], monkeypatch)
    assert result.exit_code == 0, result.output
    assert app is not None
    assert creatable(app) == {"DocumentReference", "Observation", "QuestionnaireResponse"}
    _, default_app = served_app(database, monkeypatch)
    assert default_app is not None
    assert creatable(default_app) == set(SUPPORTED_TYPES)
    refused, _ = served_app([*database, "--profile", "epic"], monkeypatch)
    assert refused.exit_code == 2
    assert "Invalid value for '--profile'" in refused.output
