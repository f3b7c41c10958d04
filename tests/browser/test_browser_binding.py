"""In Chromium: a launch opens only in the browser that completed it, by its cookie or,
where no cookie comes back, by its tab's binding (launch.js and flip-tab.js for real)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, expect

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.deployment import Deployment, deploy


@pytest.fixture
def ehr(tmp_path: Path) -> Iterator[Deployment]:
    """The sandbox with Maya and Ben, and Flip, on two sites (localhost, 127.0.0.1)."""
    with deploy(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path) as deployment:
        yield deployment


def api_patient_name(page: Page) -> str:
    """Call Flip's visit API as the page's scripts do (flip-api.js)."""
    name: str = page.evaluate(
        """async () => (await FlipApi.send("GET", "/visit")).data.patient.name"""
    )
    return name


def drop_flip_cookies(context: BrowserContext) -> Callable[[Route], None]:
    """A route handler passing Flip's /launch page on without its cookie: a browser that
    keeps none. (route.fetch files a Set-Cookie in the context's jar: cleared too.) Only
    /launch is routed, so that every later request is Chromium's own, headers and all."""

    def handle(route: Route) -> None:
        response = route.fetch()
        context.clear_cookies()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}
        route.fulfill(response=response, headers=headers)

    return handle


@pytest.mark.browser
@pytest.mark.parametrize("cookies", ["kept", "dropped"])
def test_a_visit_url_is_refused_in_a_fresh_browser(
    browser: Browser, ehr: Deployment, cookies: str
) -> None:
    clinician = browser.new_context()
    if cookies == "dropped":
        clinician.route(f"{ehr.flip_url}/launch?*", drop_flip_cookies(clinician))
    page = clinician.new_page()
    page.set_default_timeout(15_000)
    page.goto(ehr.ehr_launch_url("p1", "e-p1"))
    expect(page.locator("[data-patient-name]")).to_have_text("Maya Jones")
    assert (clinician.cookies(ehr.flip_url) == []) == (cookies == "dropped")
    assert api_patient_name(page) == "Maya Jones"
    page.reload()  # the tab proves itself again, by cookie or by its binding
    expect(page.locator("[data-patient-name]")).to_have_text("Maya Jones")
    assert api_patient_name(page) == "Maya Jones"
    visit_url = page.url

    stranger = browser.new_context()
    other = stranger.new_page()
    other.goto(visit_url)
    expect(other.locator("[data-error]")).to_have_attribute("data-error", "launch_other_browser")
    assert "Maya" not in other.content()
    # Another tab of the clinician's own browser has no binding of its own either, where
    # only the tab holds it.
    if cookies == "dropped":
        second_tab = clinician.new_page()
        second_tab.goto(visit_url)
        expect(second_tab.locator("[data-error]")).to_have_attribute(
            "data-error", "launch_other_browser"
        )
    stranger.close()
    clinician.close()


def chromium_with(
    playwright: Playwright, folder: Path, profile_settings: dict[str, Any], **options: Any
) -> BrowserContext:
    """A Chromium whose profile's Preferences hold these settings (its cookie settings)."""
    profile = folder / "chromium-profile"
    (profile / "Default").mkdir(parents=True)
    preferences = json.dumps({"profile": profile_settings})
    (profile / "Default" / "Preferences").write_text(preferences)
    return playwright.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, **options
    )


@pytest.mark.browser
def test_where_the_frame_keeps_no_cookie_and_no_storage_flip_offers_a_new_window(
    playwright: Playwright, ehr: Deployment, tmp_path: Path
) -> None:
    # Chromium's own setting "block cookies and site data" for Flip embedded in the
    # chart's site, and only there: the frame keeps neither, a window of its own does.
    blocked = {f"{ehr.flip_url},{ehr.sandbox.url}": {"setting": 2}}
    context = chromium_with(
        playwright, tmp_path, {"content_settings": {"exceptions": {"cookies": blocked}}}
    )
    try:
        chart = context.new_page()
        chart.set_default_timeout(15_000)
        chart.goto(f"{ehr.sandbox.url}/chart/p1?encounter=e-p1&practitioner=dr1")
        frame = chart.frame_locator("iframe[title='Flip']")
        expect(frame.get_by_role("alert")).to_contain_text("Flip can't open inside this frame")
        expect(frame.get_by_role("alert")).to_contain_text("no cookies or site data")
        with context.expect_page() as opened:
            frame.get_by_role("link", name="Open Flip in a new window").click()
        window = opened.value
        window.set_default_timeout(15_000)
        expect(window.locator("[data-patient-name]")).to_have_text("Maya Jones")
        assert api_patient_name(window) == "Maya Jones"
    finally:
        context.close()


@pytest.mark.browser
def test_flip_opens_in_a_frame_sandboxed_without_same_origin(page: Page, tmp_path: Path) -> None:
    # An EHR framing without allow-same-origin: the frame's origin is opaque, so its scripts
    # reach neither document.cookie nor sessionStorage, yet its HTTP cookie binds it.
    flags = "allow-scripts allow-forms allow-popups"
    with deploy(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path, app_frame_sandbox=flags) as ehr:
        page.goto(f"{ehr.sandbox.url}/chart/p1?encounter=e-p1&practitioner=dr1")
        frame = page.frame_locator("iframe[title='Flip']")
        expect(frame.locator("[data-patient-name]")).to_have_text("Maya Jones")
        assert frame.get_by_role("alert").count() == 0


@pytest.mark.browser
def test_a_phone_that_keeps_no_cookies_is_told_to_allow_them(
    playwright: Playwright, ehr: Deployment, tmp_path: Path
) -> None:
    # A patient's phone set to block every site's cookies, opening Flip from the portal in
    # its own window: a new window would not help, so Flip does not offer one.
    everywhere = {"default_content_setting_values": {"cookies": 2}}
    phone = {"viewport": {"width": 390, "height": 800}}
    context = chromium_with(playwright, tmp_path, everywhere, **phone)
    try:
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(ehr.ehr_launch_url("p1", "e-p1"))
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Flip can't open in this browser")
        expect(alert).to_contain_text("Allow cookies for 127.0.0.1")
        assert page.get_by_role("link", name="Open Flip in a new window").count() == 0
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
