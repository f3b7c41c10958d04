"""Standalone launch: a patient signs in to the portal and approves the app."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import requests

from tests.sandbox.conftest import SmartFlow, query_of

STANDALONE_SCOPE = "launch/patient openid fhirUser patient/*.rs"


def _form_fields(html: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    return {name: value.replace("&amp;", "&") for name, value in fields}


def _sign_in_and_reach_consent(smart: SmartFlow) -> requests.Response:
    start = smart.authorize(scope=STANDALONE_SCOPE)
    assert start.status_code == 302
    login_url = urljoin(smart.sandbox.url, start.headers["Location"])
    login_page = smart.http.get(login_url, timeout=5)
    assert "Jones" in login_page.text  # the seeded patient is offered
    form = _form_fields(login_page.text)
    signed_in = smart.http.post(
        f"{smart.sandbox.url}/auth/login",
        data={**form, "patient": "p1"},
        allow_redirects=False,
        timeout=5,
    )
    assert signed_in.status_code == 302
    consent = smart.http.get(urljoin(smart.sandbox.url, signed_in.headers["Location"]), timeout=5)
    assert consent.status_code == 200
    return consent


def _decide(smart: SmartFlow, consent: requests.Response, decision: str) -> requests.Response:
    return smart.http.post(
        f"{smart.sandbox.url}/auth/authorize",
        data={**_form_fields(consent.text), "decision": decision},
        allow_redirects=False,
        timeout=5,
    )


def test_standalone_allow_gives_the_chosen_patient(smart: SmartFlow) -> None:
    consent = _sign_in_and_reach_consent(smart)
    assert "Test App" in consent.text
    assert "Read, search all data of this patient" in consent.text
    response = smart.exchange(smart.code_from(_decide(smart, consent, "allow")))
    token = response.json()
    assert response.status_code == 200, response.text
    assert token["patient"] == "p1"
    assert "encounter" not in token
    assert token["id_token"]


def test_standalone_deny_returns_access_denied(smart: SmartFlow) -> None:
    consent = _sign_in_and_reach_consent(smart)
    response = _decide(smart, consent, "deny")
    params = query_of(response.headers["Location"])
    assert params["error"] == "access_denied"
    assert params["state"] == "state-123"
    assert "code" not in params


def test_consent_without_the_form_token_is_refused(smart: SmartFlow) -> None:
    consent = _sign_in_and_reach_consent(smart)
    fields = {**_form_fields(consent.text), "csrf_token": "forged", "decision": "allow"}
    response = smart.http.post(
        f"{smart.sandbox.url}/auth/authorize", data=fields, allow_redirects=False, timeout=5
    )
    assert response.status_code == 400
    assert "Location" not in response.headers


def test_login_page_escapes_patient_names(smart: SmartFlow) -> None:
    smart.seed("Patient", "p2", name=[{"text": "<script>alert(1)</script>"}])
    start = smart.authorize(scope=STANDALONE_SCOPE)
    page = smart.http.get(urljoin(smart.sandbox.url, start.headers["Location"]), timeout=5)
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
