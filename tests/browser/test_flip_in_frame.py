"""Flip in the sandbox chart's cross-site sidebar frame, in a real chromium."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Frame, Page, Playwright, expect

from ehr_sandbox.demo import build_demo_bundle
from tests.browser.conftest import flip_page_frame, launch_chromium
from tests.e2e.deployment import Deployment, deploy
from tests.support.live_server import serve

MIA = ("flip-demo-mia-thompson", "flip-demo-mia-thompson-visit", "Mia Thompson")
TYLER = ("flip-demo-tyler-brooks", "flip-demo-tyler-brooks-visit", "Tyler Brooks")


@pytest.fixture
def ehr(tmp_path: Path) -> Iterator[Deployment]:
    """The sandbox with the demo clinic, and Flip, on two sites (localhost, 127.0.0.1)."""
    with deploy(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path) as deployment:
        bundle = build_demo_bundle(date.today())
        seeded = requests.post(deployment.sandbox.open_fhir_base, json=bundle, timeout=30)
        assert seeded.status_code == 200, seeded.text
        yield deployment


@pytest.fixture(scope="module")
def cookie_blocking_browser(playwright: Playwright) -> Iterator[Browser]:
    """A chromium that blocks third-party cookies (the 3PC phase-out test mode)."""
    browser = launch_chromium(playwright, "--test-third-party-cookie-phaseout")
    yield browser
    browser.close()


def open_chart(page: Page, ehr: Deployment, person: tuple[str, str, str]) -> Frame:
    """Open a chart; return Flip's frame once its visit page shows the patient."""
    patient, encounter, name = person
    page.goto(f"{ehr.sandbox.url}/chart/{patient}?encounter={encounter}")
    flip = page.frame_locator("iframe[title='Flip']")
    expect(flip.locator("[data-patient-name]")).to_have_text(name)
    return flip_page_frame(page, ehr.flip_url)


def api_patient_name(frame: Frame) -> str:
    """Call Flip's visit API from inside its frame, as the page's scripts do."""
    name: str = frame.evaluate(
        """async () => {
            const meta = (n) => document.querySelector(`meta[name="${n}"]`).content;
            const response = await fetch(meta("flip-api-base") + "/visit",
                {headers: {"X-Flip-Launch": meta("flip-launch-token")}});
            return (await response.json()).patient.name;
        }"""
    )
    return name


@pytest.mark.browser
def test_chart_runs_flip_in_its_cross_site_sidebar_frame(page: Page, ehr: Deployment) -> None:
    frame = open_chart(page, ehr, MIA)
    expect(page.get_by_role("heading", level=1)).to_have_text("Mia Thompson")  # EHR banner
    assert frame.locator("[data-patient-banner]").count() == 0  # the EHR shows its own
    assert api_patient_name(frame) == "Mia Thompson"


@pytest.mark.browser
def test_flip_works_in_the_frame_with_third_party_cookies_blocked(
    cookie_blocking_browser: Browser, ehr: Deployment
) -> None:
    context = cookie_blocking_browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15_000)
    frame = open_chart(page, ehr, TYLER)
    # The mode is real: an ordinary cookie set inside the cross-site frame is dropped.
    stored = frame.evaluate(
        "() => { document.cookie = 'probe=1; SameSite=None; Secure'; return document.cookie; }"
    )
    assert "probe=1" not in stored
    assert api_patient_name(frame) == "Tyler Brooks"
    page.reload()
    frame = open_chart(page, ehr, TYLER)
    assert api_patient_name(frame) == "Tyler Brooks"
    context.close()


@pytest.mark.browser
def test_two_tabs_for_two_patients_keep_their_own_patient(
    browser: Browser, ehr: Deployment
) -> None:
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    for tab in (first, second):
        tab.set_default_timeout(15_000)
    first_frame = open_chart(first, ehr, MIA)
    second_frame = open_chart(second, ehr, TYLER)
    for _ in range(2):
        assert api_patient_name(first_frame) == "Mia Thompson"
        assert api_patient_name(second_frame) == "Tyler Brooks"
        # Reload Flip's frame itself (not the chart): each keeps its own launch.
        for frame in (first_frame, second_frame):
            frame.evaluate("() => location.reload()")
        expect(first.frame_locator("iframe").locator("[data-patient-name]")).to_have_text(
            "Mia Thompson"
        )
        expect(second.frame_locator("iframe").locator("[data-patient-name]")).to_have_text(
            "Tyler Brooks"
        )
        first_frame = flip_page_frame(first, ehr.flip_url, "iframe")
        second_frame = flip_page_frame(second, ehr.flip_url, "iframe")
    context.close()


@pytest.mark.browser
def test_no_token_reaches_the_page_url_storage_or_cookies(page: Page, ehr: Deployment) -> None:
    from tests.e2e.test_launch_failures import issued_tokens

    frame = open_chart(page, ehr, MIA)
    api_patient_name(frame)
    tokens = issued_tokens(ehr)
    assert tokens
    visible = [
        frame.url,
        frame.content(),
        page.content(),
        # Chromium denies a cross-site frame its storage when third-party cookies are
        # blocked; where it allows it, nothing there may hold a token either.
        frame.evaluate(
            """() => { try { return JSON.stringify({...sessionStorage, ...localStorage}); }
                       catch (denied) { return ""; } }"""
        ),
        str(page.context.cookies()),
    ]
    for token in tokens:
        assert all(token not in text for text in visible)


def test_a_page_of_another_origin_cannot_frame_flip(page: Page, ehr: Deployment) -> None:
    flip_page = f"{ehr.flip_url}/launch?iss={ehr.sandbox.fhir_base}"
    prize = f'<!doctype html><title>Win a prize</title><iframe src="{flip_page}"></iframe>'

    def attacker(_environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [prize.encode()]

    # A real server on loopback (another origin than Flip's): Chromium refuses a page it
    # treats as public from framing a loopback one for another reason altogether.
    with serve(lambda _port: attacker) as port:
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_timeout(1500)
        framed = [f for f in page.frames if f is not page.main_frame]
        assert framed, "the attacker's page has its frame"
        assert all(f.locator('meta[name="flip-state"]').count() == 0 for f in framed)
        assert all(f.url.startswith("chrome-error:") for f in framed), [f.url for f in framed]


@pytest.mark.browser
def test_the_visit_wears_the_ehrs_style_with_no_request_that_holds_its_first_paint(
    page: Page, ehr: Deployment
) -> None:
    """The EHR's SMART style (sandbox: highlight #0b57a4, radius 4px) is in the page itself,
    allowed by the page's CSP nonce; every file the page loads is versioned and cacheable."""
    frame = open_chart(page, ehr, MIA)
    root = "getComputedStyle(document.documentElement)"
    assert frame.evaluate(f"() => {root}.getPropertyValue('--accent').trim()") == "#0b57a4"
    assert frame.evaluate(f"() => {root}.getPropertyValue('--radius').trim()") == "4px"
    style = frame.evaluate("() => document.querySelector('style[data-ehr-style]').textContent")
    assert "'Segoe UI'" in style  # quoted font names arrive as written, not as entities
    loaded: list[str] = frame.evaluate(
        "() => performance.getEntriesByType('resource').map((entry) => entry.name)"
    )
    assert loaded and all("?v=" in url for url in loaded), loaded


@pytest.mark.browser
def test_an_ehr_down_on_the_first_read_is_tried_again_by_a_reload(
    page: Page, ehr: Deployment
) -> None:
    # The callback answers with the visit itself. When the EHR fails that first read, the
    # frame says so at the visit's own address, so the reload it advises reads the chart
    # again instead of replaying the used callback.
    patient, encounter, name = MIA
    open_chart(page, ehr, MIA)  # Flip has read the EHR's configuration
    ehr.fault(status=503, count=None, path_prefix="/fhir", methods=["GET", "POST"])
    page.goto(f"{ehr.sandbox.url}/chart/{patient}?encounter={encounter}")
    flip = page.frame_locator("iframe[title='Flip']")
    expect(flip.locator("h1")).to_have_text("The EHR isn't answering right now", timeout=30_000)
    expect(flip.locator("body")).to_contain_text("Wait a moment and reload.")
    frame = flip_page_frame(page, ehr.flip_url)
    assert frame.url.endswith("/visit") and "code=" not in frame.url
    assert requests.delete(f"{ehr.sandbox.url}/_sandbox/faults", timeout=10).ok
    frame.evaluate("() => location.reload()")
    expect(flip.locator("[data-patient-name]")).to_have_text(name)
