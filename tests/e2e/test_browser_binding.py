"""A launch serves only the browser that completed it: its cookie or its tab's binding is
proven on every request, and a callback completes only in the browser that started it."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
import requests

from benchmarks.browser import hidden_fields, meta_tags
from tests.e2e.deployment import Browser, CookieBrowser, Deployment, deploy
from tests.e2e.test_roles import portal_launch


@pytest.fixture
def ehr(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """Flip registered as a public client with the sandbox."""
    with deploy(database_url, tmp_path) as deployment:
        yield deployment


def test_a_form_url_in_another_browser_says_so_in_the_patients_words(ehr: Deployment) -> None:
    _, form = portal_launch(ehr, "Patient/p1")
    assert "data-previsit" in form.text
    for stranger in (Browser(), CookieBrowser()):
        page = stranger.get(form.url)
        assert page.status_code == 403, page.text
        assert 'data-error="launch_other_browser"' in page.text
        assert "This page is open in another browser" in page.text
        assert "patient portal" in page.text and "chart" not in page.text
        assert "Maya" not in page.text


@pytest.mark.parametrize("browser_kind", [Browser, CookieBrowser])
def test_a_visit_url_opens_nothing_in_another_browser(
    ehr: Deployment, browser_kind: type[Browser]
) -> None:
    clinician = browser_kind()
    visit = clinician.launch(ehr.ehr_launch_url("p1", "e-p1"))
    assert "Maya Jones" in visit.text
    for stranger in (Browser(), CookieBrowser()):
        page = stranger.get(visit.url)  # the URL, taken from a log or a shoulder
        assert page.status_code == 403, page.text
        assert 'data-error="launch_other_browser"' in page.text
        assert "Maya" not in page.text
        assert "flip-launch-token" not in page.text  # nor the page's API secret
        # Even holding the page's secret, the API answers only the browser of the launch.
        api = f"{ehr.flip_url}{meta_tags(visit.text)['flip-api-base']}/visit"
        stolen = {"X-Flip-Launch": clinician.api_headers(visit)["X-Flip-Launch"]}
        answer = stranger.get(api, headers=stolen)
        assert answer.status_code == 403
        assert "Maya" not in answer.text
    # The clinician's own browser still opens it, page and API.
    assert "Maya Jones" in clinician.get(visit.url).text
    assert clinician.get(api, headers=clinician.api_headers(visit)).status_code == 200


@pytest.mark.parametrize("browser_kind", [Browser, CookieBrowser])
def test_a_launch_whose_id_begins_with_api_opens_as_any_other(
    ehr: Deployment, browser_kind: type[Browser], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Launch ids are random: one in 262,144 begins with "api", which Flip once took for
    # its API (a tab without cookies was refused, a cookie's page asked for the API secret).
    random_token = secrets.token_urlsafe
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n=None: "api" + random_token(n)[3:])
    clinician = browser_kind()
    visit = clinician.launch(ehr.ehr_launch_url("p1", "e-p1"))
    assert urlsplit(visit.url).path.startswith("/l/api")
    assert visit.status_code == 200, visit.text
    assert "Maya Jones" in visit.text
    api = f"{ehr.flip_url}{meta_tags(visit.text)['flip-api-base']}/visit"
    assert clinician.get(api, headers=clinician.api_headers(visit)).status_code == 200
    # Its API still asks for the page's secret, and answers in JSON.
    refused = clinician.get(api, headers={"X-Flip-Tab": clinician.tab_binding(visit.url)})
    assert refused.status_code == 401
    assert refused.headers["Content-Type"] == "application/json"
    assert "Maya" not in refused.text


def test_a_cookie_binds_in_one_hop_and_a_tab_without_one_proves_itself(ehr: Deployment) -> None:
    with_cookie = CookieBrowser()
    page = with_cookie.launch(ehr.ehr_launch_url("p1", "e-p1"))
    methods = [(r.request.method, urlsplit(r.url).path) for r in with_cookie.seen]
    assert ("POST", "/callback") not in methods  # the cookie proved the callback
    assert not [m for m in methods if m[0] == "POST" and m[1].startswith("/l/")]
    assert not with_cookie.session_storage.get("flip-tab:latest")
    # The callback answered with the visit page itself: no request for it followed, and the
    # page names its own address for the address bar (flip-tab.js).
    assert not [r for r in with_cookie.seen if urlsplit(r.request.url).path.startswith("/l/")]
    assert urlsplit(page.url).path.endswith("/visit") and "Maya Jones" in page.text
    without = Browser()
    without.launch(ehr.ehr_launch_url("p1", "e-p1"))
    methods = [(r.request.method, urlsplit(r.url).path) for r in without.seen]
    assert ("POST", "/callback") in methods  # the tab's binding proved the callback
    assert [m for m in methods if m[0] == "POST" and m[1].endswith("/visit")]  # and the page


def test_a_callback_link_from_another_browser_completes_nothing(ehr: Deployment) -> None:
    attacker = Browser()
    started = attacker.get(ehr.ehr_launch_url("p2", "e-p2"))
    metas = meta_tags(started.text)
    authorized = attacker.get(metas["flip-authorize-url"])
    callback = authorized.headers["Location"]  # the attacker's code and state, unused
    lure = f"{callback}&{urlencode({'binding': metas['flip-binding']})}"
    victim = Browser()
    interstitial = victim.get(lure)
    fields = hidden_fields(interstitial.text, "flip-callback")
    assert fields is not None
    assert metas["flip-binding"] not in interstitial.text  # never copied into the form
    landed = victim.follow(interstitial)
    assert landed.status_code == 400
    assert "Ben" not in landed.text
    # A page of another site posting the attacker's binding is refused as well.
    forged = requests.post(
        f"{ehr.flip_url}/callback",
        data={**fields, "binding": metas["flip-binding"]},
        headers={"Origin": "https://prize.example", "Sec-Fetch-Site": "cross-site"},
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 400
    assert "/l/" not in forged.headers.get("Location", "")


def test_a_form_posted_from_another_site_changes_nothing(ehr: Deployment) -> None:
    clinician = CookieBrowser()
    visit = clinician.launch(ehr.ehr_launch_url("p1", "e-p1"))
    hand_over = visit.url.replace("/visit", "/hand-to-patient")
    # Another site's page auto-submits a form at Flip: the browser sends Flip's cookie.
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
        forged = clinician.http.post(hand_over, headers=headers, allow_redirects=False, timeout=10)
        assert forged.status_code == 403
        assert 'data-error="launch_other_browser"' in forged.text
    assert "Maya Jones" in clinician.get(visit.url).text  # the visit was not handed over
    own = clinician.http.post(
        hand_over, headers={"Sec-Fetch-Site": "same-origin"}, allow_redirects=False, timeout=10
    )
    assert own.status_code == 303


def test_a_frame_that_kept_flips_cookie_goes_straight_to_the_ehr(ehr: Deployment) -> None:
    # The first launch in a browser keeps its binding in the tab too (the launch page); the
    # next, in a frame that kept Flip's cookie, needs no page: a redirect does the job.
    first = CookieBrowser().get(ehr.ehr_launch_url("p1", "e-p1"))
    assert first.status_code == 200 and "flip-authorize-url" in first.text
    kept, dropped = CookieBrowser(), Browser()
    for browser in (kept, dropped):
        assert "Maya Jones" in browser.launch(ehr.ehr_launch_url("p1", "e-p1")).text
    again = kept.get(ehr.ehr_launch_url("p2", "e-p2"))
    assert again.status_code == 302
    assert urlsplit(again.headers["Location"]).path == "/auth/authorize"
    assert "Ben Okafor" in kept.follow(again).text
    # Without the cookie the tab's binding is still needed, so the page is still served.
    assert "flip-authorize-url" in dropped.get(ehr.ehr_launch_url("p2", "e-p2")).text


def test_a_first_page_the_ehr_fails_is_retried_at_its_own_address(ehr: Deployment) -> None:
    # The callback answers with the visit page itself. When the EHR fails that first read,
    # the error page still names the visit's own address (flip-tab.js puts it in the
    # address bar), so trying again asks for the visit, never for the used callback.
    browser = CookieBrowser()
    browser.launch(ehr.ehr_launch_url("p1", "e-p1"))  # Flip has read the EHR's configuration
    ehr.fault(status=503, count=None, path_prefix="/fhir", methods=["GET", "POST"])
    failed = browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
    assert failed.status_code == 503, failed.text
    assert "Maya" not in failed.text
    assert urlsplit(failed.url).path.endswith("/visit")
    cleared = requests.delete(f"{ehr.sandbox.url}/_sandbox/faults", timeout=10)
    assert cleared.ok
    again = browser.get(failed.url)
    assert again.status_code == 200 and "Maya Jones" in again.text
