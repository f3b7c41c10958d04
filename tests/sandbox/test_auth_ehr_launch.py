"""EHR launch: the chart opens the app and the app gets its context without any page."""

from __future__ import annotations

import requests
from joserfc import jwt
from joserfc.jwk import KeySet

from ehr_sandbox.launch_context import LaunchContext
from tests.sandbox.conftest import REDIRECT_URI, SmartFlow, query_of


def test_ehr_launch_token_carries_context_and_verifiable_id_token(smart: SmartFlow) -> None:
    launch = smart.launch(
        LaunchContext(
            patient="p1",
            encounter="e1",
            practitioner="dr1",
            need_patient_banner=False,
            smart_style_url="http://localhost/style.json",
        )
    )
    redirect = smart.authorize(launch=launch, nonce="n-42")
    response = smart.exchange(smart.code_from(redirect))

    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert set(token["scope"].split()) == set(
        ["launch", "openid", "fhirUser", "offline_access", "patient/*.rs"]
    )
    assert token["patient"] == "p1"
    assert token["encounter"] == "e1"
    assert token["need_patient_banner"] is False
    assert token["smart_style_url"] == "http://localhost/style.json"
    assert token["refresh_token"]
    jwks = requests.get(f"{smart.sandbox.url}/auth/jwks", timeout=5).json()
    id_token = jwt.decode(token["id_token"], KeySet.import_key_set(jwks))
    assert id_token.claims["fhirUser"] == f"{smart.sandbox.fhir_base}/Practitioner/dr1"
    assert id_token.claims["iss"] == smart.sandbox.fhir_base
    assert id_token.claims["aud"] == smart.client_id
    assert id_token.claims["nonce"] == "n-42"
    patient = requests.get(
        f"{smart.sandbox.fhir_base}/Patient/p1",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=5,
    )
    assert patient.status_code == 200
    assert patient.json()["id"] == "p1"


def test_ehr_launch_without_offline_access_gets_no_refresh_token(smart: SmartFlow) -> None:
    token = smart.ehr_token(scope="launch patient/*.rs")
    assert "refresh_token" not in token
    assert "id_token" not in token
    assert token["patient"] == "p1"


def test_unknown_launch_redirects_back_with_invalid_request(smart: SmartFlow) -> None:
    response = smart.authorize(launch="no-such-launch")
    assert response.status_code == 302
    params = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(REDIRECT_URI)
    assert params["error"] == "invalid_request"
    assert "launch" in params["error_description"]
    assert params["state"] == "state-123"


def test_foreign_aud_is_refused(smart: SmartFlow) -> None:
    launch = smart.launch(LaunchContext(patient="p1"))
    response = smart.authorize(launch=launch, aud="https://evil.example/fhir")
    params = query_of(response.headers["Location"])
    assert params["error"] == "invalid_request"
    assert "aud" in params["error_description"]


def test_unregistered_redirect_uri_gets_a_page_not_a_redirect(smart: SmartFlow) -> None:
    launch = smart.launch(LaunchContext(patient="p1"))
    response = smart.authorize(launch=launch, redirect_uri="https://evil.example/cb")
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "refused" in response.text
    assert "https://evil.example/cb" in response.text  # names the unregistered URI
    assert "Traceback" not in response.text


def test_plain_pkce_and_missing_challenge_are_refused(smart: SmartFlow) -> None:
    launch = smart.launch(LaunchContext(patient="p1"))
    plain = smart.authorize(launch=launch, code_challenge_method="plain")
    missing = smart.authorize(launch=launch, code_challenge=None, code_challenge_method=None)
    for response in (plain, missing):
        params = query_of(response.headers["Location"])
        assert params["error"] == "invalid_request"
        assert "code" not in params


def test_code_needs_its_verifier_and_works_once(smart: SmartFlow) -> None:
    launch = smart.launch(LaunchContext(patient="p1"))
    code = smart.code_from(smart.authorize(launch=launch))
    without_verifier = smart.exchange(code, code_verifier="")
    wrong_verifier = smart.exchange(code, code_verifier="x" * 50)
    first = smart.exchange(code)
    again = smart.exchange(code)
    assert without_verifier.json()["error"] == "invalid_request"
    assert wrong_verifier.json()["error"] == "invalid_grant"
    assert first.status_code == 200
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


def test_launch_practitioner_missing_from_the_ehr_is_refused(smart: SmartFlow) -> None:
    launch = smart.launch(LaunchContext(patient="p1", practitioner="ghost"))
    params = query_of(smart.authorize(launch=launch).headers["Location"])
    assert params["error"] == "invalid_request"
    assert "ghost" in params["error_description"]
