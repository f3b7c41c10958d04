"""Every launch failure a clinician can meet ends on a page that says what to do."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from benchmarks.browser import meta_tags
from tests.e2e.conftest import Visit
from tests.e2e.deployment import Browser, Deployment, deploy
from tests.e2e.test_plan import PLAN, wait_written


@pytest.fixture
def ehr(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    with deploy(database_url, tmp_path) as deployment:
        yield deployment


def error_code(page: requests.Response) -> str | None:
    marker = 'data-error="'
    return page.text.split(marker)[1].split('"')[0] if marker in page.text else None


def test_unknown_iss_gets_a_page_and_never_a_redirect(ehr: Deployment) -> None:
    evil = "https://evil.example.com/fhir"
    page = Browser().get(f"{ehr.flip_url}/launch?{urlencode({'iss': evil, 'launch': 'x'})}")
    assert page.status_code == 400
    assert error_code(page) == "unknown_iss"
    assert "Location" not in page.headers
    assert evil not in page.text
    assert "administrator" in page.text


def test_missing_iss_is_explained(ehr: Deployment) -> None:
    page = Browser().get(f"{ehr.flip_url}/launch?launch=x")
    assert error_code(page) == "unknown_iss"
    assert "Open Flip from your EHR" in page.text


def test_discovery_down_is_explained(ehr: Deployment, tmp_path: Path) -> None:
    ehr.fault(status=503, count=None, path_prefix="/fhir/.well-known")
    page = Browser().launch(ehr.ehr_launch_url("p1"))
    assert page.status_code == 502
    assert error_code(page) == "discovery_failed"
    assert "SMART configuration" in page.text


def deny_at_consent(ehr: Deployment, browser: Browser) -> requests.Response:
    """A patient's standalone launch (as from their portal), refused at the consent page."""
    start = browser.get(f"{ehr.flip_url}/launch?{urlencode({'iss': ehr.sandbox.fhir_base})}")
    metas = meta_tags(start.text)
    browser.session_storage[f"flip-binding:{metas['flip-state']}"] = metas["flip-binding"]
    login = browser.http.get(metas["flip-authorize-url"], timeout=10)  # follows to login page
    fields = dict(parse_qs(urlsplit(login.url).query))
    assert "Maya Jones" in login.text, fields
    form = _hidden(login.text)
    consent = browser.http.post(
        f"{ehr.sandbox.url}/auth/login", data={**form, "patient": "p1"}, timeout=10
    )
    denied = browser.post(
        f"{ehr.sandbox.url}/auth/authorize", data={**_hidden(consent.text), "decision": "deny"}
    )
    return browser.follow(denied)


def test_a_patient_who_denies_consent_is_told_in_their_words(ehr: Deployment) -> None:
    page = deny_at_consent(ehr, Browser())
    assert page.status_code == 403
    assert error_code(page) == "access_denied"
    words = html.unescape(page.text)
    assert "You chose not to share your record" in words
    assert "go back to your patient portal, open the questions again and allow access" in words
    assert "chart" not in words and "EHR" not in words and "authorization" not in words


def test_a_spanish_speaking_parent_who_denies_consent_reads_it_in_spanish(
    ehr: Deployment,
) -> None:
    browser = Browser()
    browser.http.headers["Accept-Language"] = "es-MX,es;q=0.9"
    page = deny_at_consent(ehr, browser)
    assert error_code(page) == "access_denied"
    assert '<html lang="es">' in page.text
    assert "Eligió no compartir su expediente" in page.text and "Qué hacer" in page.text
    assert "vuelva al portal del paciente" in page.text


def test_a_clinician_whose_ehr_launch_is_refused_is_told_to_open_it_from_the_chart(
    ehr: Deployment,
) -> None:
    browser = Browser()
    start = browser.get(ehr.ehr_launch_url("p1"))
    state = meta_tags(start.text)["flip-state"]
    page = browser.get(
        f"{ehr.flip_url}/callback?{urlencode({'error': 'access_denied', 'state': state})}"
    )
    assert page.status_code == 403
    assert error_code(page) == "access_denied"
    assert "Open it again from the chart" in page.text


def test_standalone_launch_completes_after_login_and_consent(ehr: Deployment) -> None:
    browser = Browser()
    start = browser.get(f"{ehr.flip_url}/launch?{urlencode({'iss': ehr.sandbox.fhir_base})}")
    metas = meta_tags(start.text)
    browser.session_storage[f"flip-binding:{metas['flip-state']}"] = metas["flip-binding"]
    login = browser.http.get(metas["flip-authorize-url"], timeout=10)
    consent = browser.http.post(
        f"{ehr.sandbox.url}/auth/login", data={**_hidden(login.text), "patient": "p2"}, timeout=10
    )
    allowed = browser.post(
        f"{ehr.sandbox.url}/auth/authorize", data={**_hidden(consent.text), "decision": "allow"}
    )
    page = browser.follow(allowed)
    assert "/l/" in page.url  # signed in: the launch completed
    # Signed in as the patient: their pre-visit form, never the clinician's visit
    # (tests/e2e/test_roles.py).
    assert page.status_code == 200
    assert "/previsit" in page.url and "data-previsit" in page.text
    assert "data-agenda" not in page.text


def callback_of(ehr: Deployment, browser: Browser) -> tuple[requests.Response, dict[str, str]]:
    """Launch up to the callback page (before the tab posts its binding)."""
    start = browser.get(ehr.ehr_launch_url("p1", "e-p1"))
    metas = meta_tags(start.text)
    browser.session_storage[f"flip-binding:{metas['flip-state']}"] = metas["flip-binding"]
    authorized = browser.get(metas["flip-authorize-url"])
    callback = browser.get(authorized.headers["Location"])
    return callback, metas


def test_replayed_callback_is_refused(ehr: Deployment) -> None:
    browser = Browser()
    callback, _ = callback_of(ehr, browser)
    first = browser.follow(callback)
    assert "Maya Jones" in first.text
    replay = browser.follow(browser.get(callback.url))
    assert replay.status_code == 400
    assert error_code(replay) == "state_mismatch"


def test_callback_from_another_browser_is_refused(ehr: Deployment) -> None:
    victim, attacker = Browser(), Browser()
    callback, _ = callback_of(ehr, attacker)
    page = victim.follow(victim.get(callback.url))  # the victim's tab holds no binding
    assert error_code(page) == "state_mismatch"
    assert "Maya Jones" not in page.text


def test_forged_state_is_refused(ehr: Deployment) -> None:
    page = Browser().follow(Browser().get(f"{ehr.flip_url}/callback?code=x&state=forged"))
    assert error_code(page) == "state_mismatch"


def test_token_endpoint_refusal_is_explained(ehr: Deployment) -> None:
    browser = Browser()
    callback, metas = callback_of(ehr, browser)
    state = parse_qs(urlsplit(callback.url).query)["state"][0]
    forged = browser.post(
        f"{ehr.flip_url}/callback",
        {"code": "not-a-real-code", "state": state, "binding": metas["flip-binding"]},
    )
    assert forged.status_code == 502
    assert error_code(forged) == "token_failed"
    assert "administrator" in forged.text


@pytest.mark.parametrize(("status", "code"), [(401, "ehr_session_ended"), (403, "ehr_forbidden")])
def test_fhir_errors_on_the_visit_page_are_explained(
    ehr: Deployment, status: int, code: str
) -> None:
    browser = Browser()
    visit = browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
    assert "Maya Jones" in visit.text
    ehr.fault(status=status, count=None, path_prefix="/fhir", methods=["GET", "POST"])
    page = browser.get(visit.url)
    assert page.status_code == status
    assert error_code(page) == code
    assert "Traceback" not in page.text


def test_an_ehr_not_answering_shows_the_last_read_and_says_so(ehr: Deployment) -> None:
    browser = Browser()
    visit = Visit(ehr, browser, browser.launch(ehr.ehr_launch_url("p1", "e-p1")))
    assert visit.send("POST", "/visit/agenda/items", {"text": "School letter"}).status_code == 201
    ehr.fault(status=503, count=None, path_prefix="/fhir", methods=["POST"])  # the batch
    # A reload while the EHR is down: the chart as last read, the clinician's work with it.
    page = browser.get(visit.page.url)
    assert page.status_code == 200
    assert "The EHR isn't answering right now (HTTP 503): this is the chart as Flip read" in (
        html.unescape(page.text)
    )
    assert "Maya Jones" in page.text and "School letter" in page.text
    # A launch with no read to show: the page says what happened, in the clinician's words.
    first = Browser().launch(ehr.ehr_launch_url("p1", "e-p1"))
    assert first.status_code == 503 and error_code(first) == "ehr_unavailable"
    assert "got no answer it could use (HTTP 503)" in first.text
    assert "Bundle" not in first.text and "failed with" not in first.text


def test_a_failure_on_the_clinic_day_leads_back_to_the_visit(ehr: Deployment) -> None:
    browser = Browser()
    visit = browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
    ehr.fault(status=503, count=None, path_prefix="/fhir", methods=["GET", "POST"])
    panel = browser.get(visit.url.replace("/visit", "/team"))
    assert panel.status_code == 503 and error_code(panel) == "ehr_unavailable"
    # The sidebar's frame has no Back button: the page links to the visit, which shows
    # the chart as last read while the EHR is down.
    back = re.search(r'<a href="([^"]+)" data-error-link>Back to the visit</a>', panel.text)
    assert back is not None and back.group(1) == urlsplit(visit.url).path
    again = browser.get(f"{ehr.flip_url}{back.group(1)}")
    assert again.status_code == 200 and "Maya Jones" in again.text
    assert "this is the chart as Flip read it" in again.text


def test_scopes_the_ehr_refuses_show_the_forbidden_page(database_url: str, tmp_path: Path) -> None:
    scope = "launch openid fhirUser patient/Encounter.rs"  # no Patient read
    with deploy(database_url, tmp_path, scope=scope) as ehr:
        page = Browser().launch(ehr.ehr_launch_url("p1", "e-p1"))
    assert page.status_code == 403
    assert error_code(page) == "ehr_forbidden"


def test_no_token_ever_reaches_the_browser(ehr: Deployment) -> None:
    """Every page and every API response of a whole visit, and the cookies."""
    browser = Browser()
    visit = Visit(ehr, browser, browser.launch(ehr.ehr_launch_url("p1", "e-p1")))
    answers = [
        visit.send("GET", "/visit", None),
        visit.send("POST", "/visit/agenda/items", {"text": "School letter"}),
        visit.send("PUT", "/visit/reflection", {"notes": "kept"}),
        visit.send("PUT", "/visit/plan/form", PLAN),
        visit.send("POST", "/visit/plan", PLAN),
        visit.send("GET", "/visit/writeback", None),
    ]
    assert wait_written(visit)["state"] == "written"
    answers += [visit.send("GET", "/visit/writeback", None), visit.send("GET", "", None)]
    for page in ("/partnering", "/team", "/team/patients/p1/partnering"):
        browser.get(visit.page.url.replace("/visit", page))
    assert [(a.url, a.status_code) for a in [*answers, *browser.seen] if a.status_code >= 400] == []
    tokens = issued_tokens(ehr)
    assert tokens, "the sandbox issued tokens"
    for response in [*browser.seen, *answers]:
        exposed = [response.url, response.text, json.dumps(dict(response.headers))]
        exposed += [c.value or "" for c in browser.http.cookies]
        for token in tokens:
            assert all(token not in text for text in exposed), response.url


def issued_tokens(ehr: Deployment) -> list[str]:
    """Flip's access and refresh tokens, read from its own sealed store."""
    from smart_app.core.models import LaunchSession
    from smart_app.services import services

    with ehr.flip.app_context():
        from smart_app.core.db import db

        with db.session() as session:
            rows = session.query(LaunchSession).all()
            vault = services().vault
            found = []
            for row in rows:
                sealed = vault.open(row.sealed_tokens)
                found += [sealed["access_token"], sealed["refresh_token"]]
                assert sealed["access_token"] not in row.sealed_tokens  # encrypted at rest
    return [t for t in found if t]


def _hidden(html: str) -> dict[str, str]:
    import re
    from html import unescape

    return {
        name: unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
    }


def test_callback_errors_never_grow_the_metrics(ehr: Deployment) -> None:
    browser = Browser()
    browser.get(f"{ehr.flip_url}/callback?error=made-up-0&state=x")  # the first one may add
    before = _series(browser.get(f"{ehr.flip_url}/metrics").text)  # other_error's series
    for n in range(1, 501):
        page = browser.get(f"{ehr.flip_url}/callback?error=made-up-{n}&state=x")
        assert page.status_code in (400, 403)
    after = browser.get(f"{ehr.flip_url}/metrics").text
    assert _series(after) == before  # the same series; only their counts moved
    assert "made-up" not in after
    assert 'flip_launches_total{outcome="other_error"}' in after


def _series(metrics: str) -> list[str]:
    """Each series of a Prometheus text page, without its value."""
    return [line.rsplit(" ", 1)[0] for line in metrics.splitlines() if not line.startswith("#")]
