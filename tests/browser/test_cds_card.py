"""Flip's CDS card above the sandbox chart, in chromium: the words, and the link to Flip."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import flip_page_frame
from tests.conftest import sandbox_state
from tests.e2e.conftest import family_chart
from tests.e2e.deployment import Deployment


@pytest.fixture
def ehr(tmp_path: Path) -> Iterator[Deployment]:
    """Maya's family chart, with Flip on SQLite."""
    with family_chart(f"sqlite:///{tmp_path / 'e2e.sqlite3'}", tmp_path) as deployment:
        yield deployment


@pytest.mark.browser
def test_chart_shows_flips_card_and_its_link_opens_flip_in_the_sidebar(
    page: Page, ehr: Deployment
) -> None:
    page.goto(f"{ehr.sandbox.url}/chart/p1?encounter=e-agenda&practitioner=dr1")
    card = page.locator("[data-cds-card]")
    expect(card.locator(".cds-summary")).to_have_text(
        "Number one concern: Lacrosse travel without my vest"
    )
    expect(card.locator("[data-cds-detail]")).to_contain_text("mom")
    expect(card).to_contain_text("From Flip")
    sidebar = page.frame_locator("iframe[title='Flip']")
    expect(sidebar.locator("[data-number-one]")).to_be_visible()
    flip = flip_page_frame(page, ehr.flip_url)
    first_visit = flip.url

    card.locator("[data-cds-link='smart']").click()

    # A fresh EHR launch in the sidebar: a new visit page, showing Maya's own words.
    flip.wait_for_url(lambda url: url != first_visit and url.startswith(f"{ehr.flip_url}/l/"))
    expect(sidebar.locator("[data-number-one]")).to_have_text("Lacrosse travel without my vest")
    assert page.url.startswith(f"{ehr.sandbox.url}/chart/p1")  # the chart stays


@pytest.mark.browser
def test_chart_says_the_card_is_unavailable_when_flip_does_not_answer(
    page: Page, ehr: Deployment
) -> None:
    state = sandbox_state(ehr.sandbox.app)
    state.settings = replace(state.settings, cds_services_url=f"{ehr.flip_url}/no-such-service")
    page.goto(f"{ehr.sandbox.url}/chart/p1?encounter=e-agenda")
    expect(page.locator("[data-cds-cards]")).to_have_text("Flip's card is not available")
    expect(page.locator("[data-patient-banner]")).to_contain_text("Maya")
