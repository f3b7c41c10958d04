"""What a launch may see follows its signed-in user: patients and parents never reach the
clinician's visit, over real HTTP against the sandbox."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from tests.e2e.deployment import Browser, Deployment, deploy

# Every clinician route of a launch: (method, path under /l/<launch id>).
CLINICIAN_ROUTES = [
    ("GET", "/visit"),
    ("GET", "/partnering"),
    ("GET", "/api"),
    ("GET", "/api/visit"),
    ("PUT", "/api/visit/agenda"),
    ("POST", "/api/visit/agenda/items"),
    ("POST", "/api/visit/agenda/merge"),
    ("POST", "/api/visit/agenda/split"),
    ("POST", "/api/visit/plan"),
    ("GET", "/api/visit/writeback"),
    ("PUT", "/api/visit/reflection"),
    ("GET", "/team"),
    ("GET", "/team/patients/p1/partnering"),
]
# What only the clinician's view shows of Maya's chart.
CLINICIAN_WORDS = ["Her weight gain this winter", "Weight gain and enzyme dosing", "data-agenda"]


def portal_launch(deployment: Deployment, user: str) -> tuple[Browser, requests.Response]:
    """Sign in to the sandbox portal as `user` and open Flip standalone, as its button does."""
    answer = requests.post(
        f"{deployment.sandbox.url}/_sandbox/portal-sign-ins",
        json={
            "user": user,
            "app_launch_url": f"{deployment.flip_url}/launch",
            "pre_approved": True,
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    browser = Browser()
    signed_in = browser.get(answer.json()["url"])
    assert signed_in.status_code in (302, 303), signed_in.text
    return browser, browser.launch(signed_in.headers["Location"])


def launch_id_of(browser: Browser) -> str:
    """The launch id Flip's callback redirected this browser to."""
    for response in browser.seen:
        found = re.search(r"/l/([^/]+)/", response.headers.get("Location", ""))
        if found:
            return found.group(1)
    raise AssertionError("the launch never reached a launch page")


@pytest.mark.parametrize("user", ["Patient/p1", "RelatedPerson/rp-mom"])
def test_a_patient_or_parent_launch_lands_on_their_form_not_the_visit(
    family_visit: Deployment, user: str
) -> None:
    _, page = portal_launch(family_visit, user)
    assert page.status_code == 200
    assert "/previsit" in page.url
    assert "data-previsit" in page.text and "data-agenda" not in page.text
    for words in CLINICIAN_WORDS:
        assert words not in page.text


def test_a_clinician_launch_is_refused_the_patients_form(family_visit: Deployment) -> None:
    browser = Browser()
    page = browser.launch(family_visit.ehr_launch_url("p1", "e-agenda"))
    assert page.status_code == 200
    form = browser.get(page.url.replace("/visit", "/previsit"))
    assert form.status_code == 403
    assert "for the patient and their family" in form.text
    assert "data-previsit" not in form.text


@pytest.mark.parametrize("user", ["Patient/p1", "RelatedPerson/rp-mom"])
def test_every_clinician_route_refuses_a_patient_or_parent_launch(
    family_visit: Deployment, user: str
) -> None:
    browser, _ = portal_launch(family_visit, user)
    base = f"{family_visit.flip_url}/l/{launch_id_of(browser)}"
    tab = {"X-Flip-Tab": browser.tab_binding(f"{base}/")}  # the browser proves itself
    for method, path in CLINICIAN_ROUTES:
        if method == "GET" and "/api" not in path:
            answer = browser.get(f"{base}{path}")  # as a page, proven as flip-tab.js does
        else:
            answer = browser.http.request(
                method, f"{base}{path}", json={}, headers=tab, allow_redirects=False, timeout=10
            )
        assert answer.status_code == 403, (method, path, answer.status_code)
        for words in CLINICIAN_WORDS:
            assert words not in answer.text, (method, path)
        if "/api" in path:
            assert answer.json()["error"] == "care_team_only", (method, path)


def test_a_patient_launch_writes_nothing_to_the_chart(family_visit: Deployment) -> None:
    browser, _ = portal_launch(family_visit, "Patient/p1")
    base = f"{family_visit.flip_url}/l/{launch_id_of(browser)}"
    plan = {"something_else_asked": True, "items": [{"text": "a plan"}], "goals": []}
    tab = {"X-Flip-Tab": browser.tab_binding(f"{base}/")}
    answer = browser.http.post(f"{base}/api/visit/plan", json=plan, headers=tab, timeout=10)
    assert answer.status_code == 403
    assert answer.json()["error"] == "care_team_only"
    open_fhir = f"{family_visit.sandbox.url}/open/fhir"
    for resource_type in ("CarePlan", "Goal", "DocumentReference", "Provenance"):
        found = requests.get(f"{open_fhir}/{resource_type}", timeout=10).json()
        assert found.get("total", len(found.get("entry", []))) == 0, resource_type


def test_a_launch_without_fhir_user_names_the_missing_scope(
    database_url: str, tmp_path: Path
) -> None:
    scope = "launch patient/Patient.rs patient/Encounter.rs patient/QuestionnaireResponse.rs"
    with deploy(database_url, tmp_path, scope=scope) as ehr:  # no openid fhirUser
        page = Browser().launch(ehr.ehr_launch_url("p1", "e-p1"))
    assert page.status_code == 403
    assert 'data-error="fhir_user_missing"' in page.text
    assert "fhirUser" in page.text
    assert "data-agenda" not in page.text


def test_a_standalone_launch_asks_for_no_write_but_its_own_answers(
    family_visit: Deployment,
) -> None:
    start = Browser().get(
        f"{family_visit.flip_url}/launch?{urlencode({'iss': family_visit.sandbox.fhir_base})}"
    )
    authorize = re.search(r'name="flip-authorize-url" content="([^"]+)"', start.text)
    assert authorize is not None
    scopes = parse_qs(urlsplit(unescape(authorize.group(1))).query)["scope"][0].split()
    assert "launch/patient" in scopes and "launch" not in scopes
    assert not [s for s in scopes if s.startswith("user/")]
    for scope in scopes:
        if scope.startswith("patient/") and not scope.startswith("patient/QuestionnaireResponse"):
            permissions = scope.partition(".")[2]
            assert not set(permissions) & set("cud") and permissions != "write", scope
