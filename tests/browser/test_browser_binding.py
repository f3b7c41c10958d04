"""In Chromium: a launch opens only in the browser that completed it, by its cookie or,
where no cookie comes back, by its tab's binding (launch.js and flip-tab.js for real)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

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
