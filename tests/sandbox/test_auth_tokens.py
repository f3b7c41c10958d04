"""Access and refresh tokens as the FHIR server and the app see them."""

from __future__ import annotations

import time

import requests

from tests.conftest import LiveSandbox
from tests.sandbox.conftest import SmartFlow


def _refresh(smart: SmartFlow, refresh_token: str, **extra: str) -> requests.Response:
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": smart.client_id,
        **extra,
    }
    return requests.post(smart.token_url, data=data, timeout=5)


def _introspect(smart: SmartFlow, token: str) -> dict[str, object]:
    data = {"token": token, "client_id": smart.client_id}
    response = requests.post(f"{smart.sandbox.url}/auth/introspect", data=data, timeout=5)
    assert response.status_code == 200, response.text
    answer: dict[str, object] = response.json()
    return answer


def test_refresh_rotates_and_keeps_the_launch_context(smart: SmartFlow) -> None:
    first = smart.ehr_token(encounter="e1")
    refreshed = _refresh(smart, first["refresh_token"])
    replayed = _refresh(smart, first["refresh_token"])

    assert refreshed.status_code == 200, refreshed.text
    token = refreshed.json()
    assert token["patient"] == "p1"
    assert token["encounter"] == "e1"
    assert token["refresh_token"] != first["refresh_token"]
    assert replayed.status_code == 400
    assert replayed.json()["error"] == "invalid_grant"
    assert _refresh(smart, token["refresh_token"]).status_code == 200


def test_refresh_may_narrow_scopes_but_not_widen(smart: SmartFlow) -> None:
    first = smart.ehr_token()
    wider = _refresh(smart, first["refresh_token"], scope="offline_access user/*.cruds")
    narrower = _refresh(smart, first["refresh_token"], scope="offline_access patient/*.rs")
    assert wider.json()["error"] == "invalid_scope"
    assert narrower.status_code == 200
    assert narrower.json()["scope"] == "offline_access patient/*.rs"


def test_introspection_reports_active_token_with_context(smart: SmartFlow) -> None:
    token = smart.ehr_token(practitioner="dr1")
    answer = _introspect(smart, token["access_token"])
    assert answer["active"] is True
    assert answer["client_id"] == smart.client_id
    assert answer["patient"] == "p1"
    assert answer["fhirUser"] == f"{smart.sandbox.fhir_base}/Practitioner/dr1"
    assert isinstance(answer["exp"], int) and answer["exp"] > time.time()
    assert _introspect(smart, "made-up-token") == {"active": False}


def test_expired_token_is_inactive_and_refused_by_fhir(short_lived_sandbox: LiveSandbox) -> None:
    smart = SmartFlow(short_lived_sandbox)
    smart.register()
    smart.seed("Patient", "p1")
    token = smart.ehr_token()
    assert token["expires_in"] == 1
    time.sleep(1.5)
    answer = _introspect(smart, token["access_token"])
    fhir = requests.get(
        f"{smart.sandbox.fhir_base}/Patient/p1",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert answer == {"active": False}
    assert fhir.status_code == 401
    assert 'error="invalid_token"' in fhir.headers["WWW-Authenticate"]
    assert "expired" in fhir.headers["WWW-Authenticate"]
    assert _refresh(smart, token["refresh_token"]).status_code == 200


def test_fhir_without_token_gets_a_bare_bearer_challenge(smart: SmartFlow) -> None:
    response = requests.get(f"{smart.sandbox.fhir_base}/Patient/p1", timeout=5)
    unknown = requests.get(
        f"{smart.sandbox.fhir_base}/Patient/p1",
        headers={"Authorization": "Bearer not-a-token"},
        timeout=5,
    )
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Bearer realm="{smart.sandbox.fhir_base}"'
    assert unknown.status_code == 401
    assert 'error="invalid_token"' in unknown.headers["WWW-Authenticate"]
