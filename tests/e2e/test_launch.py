"""SMART launches of Flip against the sandbox EHR, over real HTTP, end to end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.browser import meta_tags
from tests.e2e.deployment import Browser, Deployment, deploy


@pytest.fixture
def ehr(database_url: str, tmp_path: Path) -> Iterator[Deployment]:
    """Flip registered as a public client with the sandbox."""
    with deploy(database_url, tmp_path) as deployment:
        yield deployment


@pytest.mark.parametrize(
    "client_type", ["public", "symmetric", "asymmetric-RS384", "asymmetric-ES384"]
)
def test_ehr_launch_lands_on_the_visit_of_the_launch_patient(
    database_url: str, tmp_path: Path, client_type: str
) -> None:
    with deploy(database_url, tmp_path, client_type=client_type) as ehr:
        visit = Browser().launch(ehr.ehr_launch_url("p1", "e-p1"))
    assert visit.status_code == 200, visit.text
    assert "Maya Jones" in visit.text
    assert "CF clinic follow-up" in visit.text
    # The sandbox chart shows its own banner, so the launch says no banner is needed.
    assert "data-patient-banner" not in visit.text


def test_visit_page_shows_a_banner_when_the_ehr_asks_for_one(ehr: Deployment) -> None:
    visit = Browser().launch(ehr.ehr_launch_url("p2", "e-p2", need_patient_banner=True))
    assert "data-patient-banner" in visit.text
    assert "Ben Okafor" in visit.text


def test_visit_api_needs_the_page_secret_and_answers_for_its_own_patient(
    ehr: Deployment,
) -> None:
    browser = Browser()
    visit = browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
    metas = meta_tags(visit.text)
    api = f"{ehr.flip_url}{metas['flip-api-base']}/visit"
    refused = browser.get(api, headers={"X-Flip-Tab": browser.tab_binding(visit.url)})
    assert refused.status_code == 401
    assert refused.json()["error"] == "launch_ended"
    answered = browser.get(api, headers=browser.api_headers(visit))
    assert answered.status_code == 200
    assert answered.json()["patient"]["name"] == "Maya Jones"
    assert answered.json()["encounter"]["id"] == "e-p1"


def test_two_launches_in_one_browser_each_keep_their_own_patient(ehr: Deployment) -> None:
    browser = Browser()
    first = browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
    second = browser.launch(ehr.ehr_launch_url("p2", "e-p2"))
    for page, name in ((first, "Maya Jones"), (second, "Ben Okafor")):
        reloaded = browser.get(page.url)
        assert name in reloaded.text
        metas = meta_tags(reloaded.text)
        api = f"{ehr.flip_url}{metas['flip-api-base']}/visit"
        answer = browser.get(api, headers=browser.api_headers(reloaded))
        assert answer.json()["patient"]["name"] == name
    # One launch's page secret does not open the other launch's API.
    other = meta_tags(second.text)["flip-launch-token"]
    crossed = browser.get(
        f"{ehr.flip_url}{meta_tags(first.text)['flip-api-base']}/visit",
        headers={**browser.api_headers(first), "X-Flip-Launch": other},
    )
    assert crossed.status_code == 401
