"""The care team's clinic-day panel in chromium, launched from the sandbox's clinic day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.browser.conftest import flip_page_frame
from tests.e2e.conftest import family_chart, previsit
from tests.e2e.deployment import Deployment
from tests.e2e.test_team_panel import TEEN_SECRET, TODAY, book


@pytest.fixture
def ehr(tmp_path: Path) -> Iterator[Deployment]:
    """Dr Osler's day: Maya (teen and mom answered) and Ben (care team only); Ana tomorrow."""
    url = f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    with family_chart(url, tmp_path, default_practitioner="dr1") as deployment:
        teen = previsit("qr-ben", "Patient/p2", TEEN_SECRET)
        teen["subject"] = {"reference": "Patient/p2"}
        teen["item"].append({"linkId": "share-with-family", "answer": [{"valueBoolean": False}]})
        deployment.put(teen)
        deployment.seed("Patient", "p3", name=[{"given": ["Ana"], "family": "Reyes"}])
        book(deployment, "a-maya", "p1", TODAY, reasonCode=[{"text": "Weight check"}])
        book(deployment, "a-ben", "p2", TODAY + timedelta(hours=1))
        book(deployment, "a-ana", "p3", TODAY + timedelta(days=1))
        yield deployment


@pytest.mark.browser
def test_the_pre_visit_panel_lists_the_day_and_a_row_opens_the_visit(
    page: Page, ehr: Deployment
) -> None:
    page.goto(ehr.sandbox.url)
    page.locator("[data-action='open-previsit-panel']").click()
    panel = page.frame_locator("iframe[title='Flip: pre-visit panel']")
    rows = panel.locator("[data-day-row]")
    expect(rows).to_have_count(2)
    expect(panel.locator("[data-answered-count]")).to_have_text("2 of 2 answered")
    expect(rows.nth(0)).to_contain_text("Lacrosse travel without my vest")
    expect(rows.nth(1).locator("[data-care-team-only]")).to_have_text("Care team only")
    frame = flip_page_frame(page, ehr.flip_url, "iframe[title='Flip: pre-visit panel']")
    results = Axe().run(frame)
    assert results.violations_count == 0, results.generate_report()

    panel.get_by_label("Day", exact=True).select_option("tomorrow")
    panel.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0)).to_contain_text("Ana Reyes")
    expect(rows.nth(0)).to_contain_text("Nobody has answered yet")

    panel.get_by_label("Day", exact=True).select_option("today")
    panel.get_by_role("button", name="Show").click()
    rows.nth(0).locator("[data-open-chart]").click()
    # The chart opens in the EHR's window, and Flip's visit for Maya in its sidebar.
    page.wait_for_url(f"{ehr.sandbox.url}/chart/p1*")
    sidebar = page.frame_locator("iframe[title='Flip']")
    expect(sidebar.locator("[data-number-one]")).to_have_text("Lacrosse travel without my vest")


@pytest.mark.browser
def test_from_a_patients_sidebar_a_row_opens_that_chart_in_a_new_window(
    page: Page, ehr: Deployment
) -> None:
    # The chart's sidebar frame may not navigate the EHR's page (no allow-top-navigation):
    # a row's name there opens the other chart in a window of its own.
    page.goto(f"{ehr.sandbox.url}/chart/p1?encounter=e-p1&practitioner=dr1")
    sidebar = page.frame_locator("iframe[title='Flip']")
    sidebar.locator("[data-todays-clinic]").click()
    ben = sidebar.locator("[data-day-row][data-patient-id='p2'] [data-open-chart]")
    expect(ben).to_contain_text("(opens in a new window)")
    with page.expect_popup() as opened:
        ben.click()
    chart = opened.value
    chart.wait_for_url(f"{ehr.sandbox.url}/chart/p2*")
    expect(page).to_have_url(f"{ehr.sandbox.url}/chart/p1?encounter=e-p1&practitioner=dr1")
