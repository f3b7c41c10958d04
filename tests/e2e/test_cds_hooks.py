"""Flip's CDS Hooks service over real HTTP, called as an EHR calls it (CDS Hooks 2.0).

The sandbox is the CDS client: its signing key (published at /cds-client/jwks.json) signs
the JWTs here, and Flip's registrations name it in `cds_clients`. Each refusal is a bare
401; a malformed call a 400; the card carries the patient's own words, never a teen's
care-team-only ones.
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import ECKey

from ehr_sandbox.cds_client import CdsClientKey, fhir_authorization, jwks_url
from smart_app.core import audit
from tests.conftest import sandbox_state
from tests.e2e.conftest import family_chart, previsit
from tests.e2e.deployment import Deployment
from tests.support.databases import postgres_url, sqlite_url

TEEN_SECRET = "I vape sometimes and do not want mom to know"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ehr(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    """Maya's family answered; Ben (p2) answered for the care team only."""
    folder = tmp_path_factory.mktemp("cds")
    if request.param == "postgresql":
        request.getfixturevalue("_postgres_checked")
    database = sqlite_url(folder) if request.param == "sqlite" else postgres_url()
    with database as url, family_chart(url, folder) as deployment:
        teen = previsit("qr-ben", "Patient/p2", TEEN_SECRET)
        teen["subject"] = {"reference": "Patient/p2"}
        teen["item"].append({"linkId": "share-with-family", "answer": [{"valueBoolean": False}]})
        deployment.put(teen)
        assert requests.get(f"{deployment.sandbox.url}/cds-client/jwks.json", timeout=10).ok
        yield deployment


def service_url(ehr: Deployment) -> str:
    return f"{ehr.flip_url}/cds-services/flip-previsit"


def signed(
    ehr: Deployment,
    *,
    key: ECKey | None = None,
    header: dict[str, Any] | None = None,
    **claims: Any,
) -> str:
    """A JWT as the sandbox signs one, with `claims` overriding the good ones."""
    if key is None:
        with sandbox_state(ehr.sandbox.app).db.session() as session:
            stored = session.query(CdsClientKey).first()
            assert stored is not None
            key = ECKey.import_key(stored.private_jwk)
    now = int(time.time())
    good = {
        "iss": ehr.sandbox.url,
        "aud": service_url(ehr),
        "iat": now,
        "exp": now + 300,
        "jti": secrets.token_urlsafe(16),
    }
    headers = {"alg": "ES384", "typ": "JWT", "kid": key.kid, **(header or {})}
    return jwt.encode(headers, {**good, **claims}, key, algorithms=["ES384"])


def hook_body(patient: str = "p1", **extra: Any) -> dict[str, Any]:
    return {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"patientId": patient, "userId": "Practitioner/dr1"},
        **extra,
    }


def call(ehr: Deployment, body: Any, token: str | None = None, path: str = "") -> requests.Response:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return requests.post(f"{service_url(ehr)}{path}", json=body, headers=headers, timeout=10)


def prefetch(ehr: Deployment, patient: str = "p1") -> dict[str, Any]:
    """What an EHR prefetches for Flip's templates, read from the sandbox's open base."""
    base = ehr.sandbox.open_fhir_base
    return {
        "patient": requests.get(f"{base}/Patient/{patient}", timeout=10).json(),
        "previsitAnswers": requests.get(
            f"{base}/QuestionnaireResponse", params={"patient": patient}, timeout=10
        ).json(),
        "family": requests.get(
            f"{base}/RelatedPerson", params={"patient": patient}, timeout=10
        ).json(),
    }


def access_for(ehr: Deployment, patient: str, *, fhir_server: str | None = None) -> dict[str, Any]:
    """fhirServer and a real fhirAuthorization token from the sandbox's auth server."""
    app = ehr.sandbox.app
    with app.app_context(), sandbox_state(app).db.session() as session:
        authorization = fhir_authorization(
            session, sandbox_state(app).settings, patient, "Practitioner/dr1"
        )
    return {
        "fhirServer": fhir_server or f"{ehr.sandbox.url}/fhir",
        "fhirAuthorization": authorization,
    }


def the_card(answer: requests.Response) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    cards = answer.json()["cards"]
    assert len(cards) == 1
    card: dict[str, Any] = cards[0]
    return card


def test_discovery_is_open_and_names_the_patient_view_service(ehr: Deployment) -> None:
    answer = requests.get(f"{ehr.flip_url}/cds-services", timeout=10)
    assert answer.status_code == 200
    (found,) = answer.json()["services"]
    assert (found["id"], found["hook"]) == ("flip-previsit", "patient-view")
    assert found["prefetch"]["patient"] == "Patient/{{context.patientId}}"
    assert "{{context.patientId}}" in found["prefetch"]["previsitAnswers"]


def test_card_with_prefetch_quotes_the_patient_and_opens_flip(ehr: Deployment) -> None:
    card = the_card(call(ehr, hook_body(prefetch=prefetch(ehr)), signed(ehr)))
    assert card["summary"] == "Number one concern: Lacrosse travel without my vest"
    assert "Maya" in card["detail"] and "mom" in card["detail"]
    assert card["indicator"] == "info" and card["source"]["label"] == "Flip"
    assert card["links"] == [
        {"label": "Open Flip", "url": f"{ehr.flip_url}/launch", "type": "smart"}
    ]


def test_card_without_prefetch_reads_the_chart_with_the_hooks_token(ehr: Deployment) -> None:
    card = the_card(call(ehr, hook_body(**access_for(ehr, "p1")), signed(ehr)))
    assert card["summary"] == "Number one concern: Lacrosse travel without my vest"
    assert "mom" in card["detail"]  # her RelatedPerson was read too


def test_without_prefetch_or_token_there_are_no_answers(ehr: Deployment) -> None:
    card = the_card(call(ehr, hook_body(), signed(ehr)))
    assert card["summary"] == "No pre-visit answers yet: ask about their number one concern"


def test_a_fhir_server_the_client_may_not_name_gets_no_token(ehr: Deployment) -> None:
    other = access_for(ehr, "p1", fhir_server=ehr.sandbox.open_fhir_base)
    card = the_card(call(ehr, hook_body(**other), signed(ehr)))
    assert card["summary"].startswith("No pre-visit answers yet")


def test_care_team_only_words_never_reach_the_card(ehr: Deployment) -> None:
    for body in (
        hook_body("p2", prefetch=prefetch(ehr, "p2")),
        hook_body("p2", **access_for(ehr, "p2")),
    ):
        answer = call(ehr, body, signed(ehr))
        card = the_card(answer)
        assert "care team only" in card["summary"]
        assert "vape" not in answer.text and "mom to know" not in answer.text


def test_the_sandbox_chart_gets_the_card_with_a_fresh_launch(ehr: Deployment) -> None:
    chart_launch = ehr.ehr_launch_url("p1", "e-agenda").split("launch=")[1]
    answer = requests.get(
        f"{ehr.sandbox.url}/chart/p1/cds-cards", params={"launch": chart_launch}, timeout=20
    )
    assert answer.status_code == 200, answer.text
    (card,) = answer.json()["cards"]
    assert card["summary"] == "Number one concern: Lacrosse travel without my vest"
    (link,) = card["links"]
    assert link["url"].startswith(f"{ehr.flip_url}/launch?iss=")
    assert chart_launch not in link["url"]  # a new launch context, not the sidebar's


@pytest.mark.parametrize(
    "refused",
    [
        "no JWT",
        "wrong aud",
        "expired",
        "unknown iss",
        "bad signature",
        "jku not allowlisted",
        "not a JWT",
    ],
)
def test_refused_tokens_get_a_bare_401(ehr: Deployment, refused: str) -> None:
    stranger = ECKey.generate_key("P-384", auto_kid=True)
    with sandbox_state(ehr.sandbox.app).db.session() as session:
        kid = session.query(CdsClientKey).first().kid  # type: ignore[union-attr]
    token = {
        "no JWT": None,
        "wrong aud": lambda: signed(ehr, aud=f"{ehr.flip_url}/cds-services/other"),
        "expired": lambda: signed(ehr, iat=int(time.time()) - 900, exp=int(time.time()) - 600),
        "unknown iss": lambda: signed(ehr, iss="https://ehr.example.org"),
        "bad signature": lambda: signed(ehr, key=stranger, header={"kid": kid}),
        "jku not allowlisted": lambda: signed(
            ehr, key=stranger, header={"jku": f"{ehr.sandbox.url}/auth/jwks"}
        ),
        "not a JWT": lambda: "not.a.jwt",
    }[refused]
    answer = call(ehr, hook_body(prefetch=prefetch(ehr)), None if token is None else token())
    assert answer.status_code == 401
    assert answer.text.strip() in ("", "{}")


def test_a_replayed_jti_is_refused(ehr: Deployment) -> None:
    token = signed(ehr)
    assert call(ehr, hook_body(), token).status_code == 200
    again = call(ehr, hook_body(), token)
    assert again.status_code == 401 and again.text.strip() in ("", "{}")


def test_the_jku_the_client_publishes_is_trusted(ehr: Deployment) -> None:
    token = signed(ehr, header={"jku": jwks_url(sandbox_state(ehr.sandbox.app).settings)})
    assert call(ehr, hook_body(), token).status_code == 200


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "JSON object"),
        ({**hook_body(), "hook": "order-sign"}, "patient-view"),
        ({**hook_body(), "context": {}}, "patientId"),
    ],
)
def test_malformed_requests_get_400(ehr: Deployment, body: Any, reason: str) -> None:
    headers = {"Authorization": f"Bearer {signed(ehr)}", "Content-Type": "application/json"}
    data = body if isinstance(body, str) else None
    answer = requests.post(
        service_url(ehr), data=data, json=None if data else body, headers=headers, timeout=10
    )
    assert answer.status_code == 400
    assert reason in answer.json()["error"]


def test_a_prefetched_patient_other_than_the_context_gets_400(ehr: Deployment) -> None:
    wrong = {**prefetch(ehr), "patient": prefetch(ehr, "p2")["patient"]}
    answer = call(ehr, hook_body("p1", prefetch=wrong), signed(ehr))
    assert answer.status_code == 400
    assert "Lacrosse" not in answer.text and "cards" not in answer.json()


def test_an_unknown_patient_gets_400(ehr: Deployment) -> None:
    answer = call(ehr, hook_body("nobody", **access_for(ehr, "nobody")), signed(ehr))
    assert answer.status_code == 400


def test_feedback_is_recorded_in_the_audit_trail(ehr: Deployment) -> None:
    card = the_card(call(ehr, hook_body(prefetch=prefetch(ehr)), signed(ehr)))
    feedback = {
        "feedback": [
            {
                "card": card["uuid"],
                "outcome": "accepted",
                "outcomeTimestamp": "2026-12-04T10:00:00Z",
            }
        ]
    }
    answer = call(ehr, feedback, signed(ehr, aud=f"{service_url(ehr)}/feedback"), "/feedback")
    assert answer.status_code == 200
    assert call(ehr, feedback, None, "/feedback").status_code == 401
    with ehr.flip.app_context():
        events = [e for e in audit.events_for("p1") if e.action == "cds_feedback"]
    assert [(e.outcome, e.resource_ids, e.user) for e in events] == [
        ("accepted", f"card/{card['uuid']}", ehr.sandbox.url)
    ]
