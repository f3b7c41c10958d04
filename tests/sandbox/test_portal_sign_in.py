"""The portal page and `flip sandbox portal-url`: signing a patient or parent in to a browser."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urljoin

import requests
from click.testing import CliRunner

from flip_cli import main
from tests.conftest import sandbox_state
from tests.sandbox.conftest import SmartFlow
from tests.sandbox.portal_support import PORTAL_SCOPE, hidden_fields


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


def test_portal_url_command_prints_a_sign_in_link(family: SmartFlow) -> None:
    result = CliRunner().invoke(
        main,
        ["sandbox", "portal-url", "--user", "RelatedPerson/rp1", "--sandbox-url",
         family.sandbox.url, "--app-launch-url", "http://127.0.0.1:8123/launch"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    entered = family.http.get(result.output.strip(), allow_redirects=False, timeout=5)
    assert entered.status_code == 302
    query = urlencode({"iss": family.sandbox.fhir_base})
    assert entered.headers["Location"] == f"http://127.0.0.1:8123/launch?{query}"
    token = family.exchange(family.code_from(family.authorize(scope=PORTAL_SCOPE))).json()
    assert token["patient"] == "p1"


def test_portal_url_command_explains_an_unknown_user(family: SmartFlow) -> None:
    for user in ("RelatedPerson/nobody", "Practitioner/dr1"):
        result = CliRunner().invoke(
            main, ["sandbox", "portal-url", "--user", user, "--sandbox-url", family.sandbox.url]
        )
        assert result.exit_code != 0
        assert user in result.output


def test_a_sign_in_link_works_once(family: SmartFlow) -> None:
    made = requests.post(
        f"{family.sandbox.url}/_sandbox/portal-sign-ins", json={"user": "Patient/p1"}, timeout=5
    )
    assert made.status_code == 201
    assert (made.json()["user"], made.json()["patient"]) == ("Patient/p1", "p1")
    first = requests.get(made.json()["url"], allow_redirects=False, timeout=5)
    again = requests.get(made.json()["url"], allow_redirects=False, timeout=5)
    assert first.status_code == 302
    assert again.status_code == 404
    assert "Location" not in again.headers


def test_sign_in_links_answer_loopback_clients_only(family: SmartFlow) -> None:
    answer = family.sandbox.app.test_client().post(
        "/_sandbox/portal-sign-ins",
        json={"user": "Patient/p1"},
        environ_base={"REMOTE_ADDR": "10.0.0.5"},
    )
    assert answer.status_code == 403


def test_an_inactive_parent_is_not_offered_and_cannot_sign_in(family: SmartFlow) -> None:
    family.seed(
        "RelatedPerson", "rp-old", active=False, patient={"reference": "Patient/p1"}, name=[]
    )
    page = family.http.get(f"{family.sandbox.url}/portal", timeout=5)
    assert "RelatedPerson/rp1" in page.text
    assert "rp-old" not in page.text
    made = requests.post(
        f"{family.sandbox.url}/_sandbox/portal-sign-ins",
        json={"user": "RelatedPerson/rp-old"},
        timeout=5,
    )
    assert made.status_code == 400


def test_the_portal_signs_a_parent_in_and_prepares_the_childs_visit(family: SmartFlow) -> None:
    page = family.http.get(f"{family.sandbox.url}/portal", timeout=5)
    assert "Grace Family, mother of Ada Jones" in page.text
    signed_in = family.http.post(
        f"{family.sandbox.url}/portal/sign-in",
        data={"csrf_token": csrf_of(page.text), "user": "RelatedPerson/rp1"},
        timeout=5,
    )
    assert 'data-portal-user="RelatedPerson/rp1"' in signed_in.text
    prepare = re.search(r'href="([^"]+)" data-action="prepare-for-visit"', signed_in.text)
    assert prepare is not None
    app_launch_url = sandbox_state(family.sandbox.app).settings.app_launch_url
    query = urlencode({"iss": family.sandbox.fhir_base})
    assert prepare.group(1).replace("&amp;", "&") == f"{app_launch_url}?{query}"
    # The app, opened standalone, sends the browser to authorize: the parent is known.
    consent = family.authorize(scope=PORTAL_SCOPE)
    assert consent.status_code == 200
    assert 'data-signed-in="RelatedPerson/rp1"' in consent.text
    allowed = family.http.post(
        f"{family.sandbox.url}/auth/authorize",
        data={**hidden_fields(consent.text), "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    assert family.exchange(family.code_from(allowed)).json()["patient"] == "p1"


def test_signing_out_of_the_portal_asks_for_a_sign_in_again(family: SmartFlow) -> None:
    page = family.http.get(f"{family.sandbox.url}/portal", timeout=5)
    family.http.post(
        f"{family.sandbox.url}/portal/sign-in",
        data={"csrf_token": csrf_of(page.text), "user": "Patient/p1"},
        timeout=5,
    )
    signed_in = family.http.get(f"{family.sandbox.url}/portal", timeout=5)
    family.http.post(
        f"{family.sandbox.url}/portal/sign-out",
        data={"csrf_token": csrf_of(signed_in.text)},
        timeout=5,
    )
    start = family.authorize(scope=PORTAL_SCOPE)
    assert start.status_code == 302
    assert "/auth/login" in urljoin(family.sandbox.url, start.headers["Location"])
