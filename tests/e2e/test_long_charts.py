"""A chart with more than Flip reads at once: every search stops at its page bound, and
the page says which reads stopped early instead of passing part of the chart off as all."""

from __future__ import annotations

import html
import re
from typing import Any

import requests

from benchmarks.browser import scrape_fhir_metrics
from tests.e2e.conftest import launch, previsit
from tests.e2e.deployment import Deployment

# The bound the README promises: each search reads at most 4 pages of 50.
MAX_PAGES = 4
MORE_THAN_READ = MAX_PAGES * 50 + 1


def seed_all(ehr: Deployment, resources: list[dict[str, Any]]) -> None:
    """Many resources in one transaction through the sandbox's open base."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }
    answer = requests.post(ehr.sandbox.open_fhir_base, json=bundle, timeout=60)
    assert answer.status_code == 200, answer.text[:500]


def goal(goal_id: str, patient: str = "p1") -> dict[str, Any]:
    """An active Goal of `patient`."""
    return {
        "resourceType": "Goal",
        "id": goal_id,
        "lifecycleStatus": "active",
        "description": {"text": f"Goal {goal_id}"},
        "subject": {"reference": f"Patient/{patient}"},
    }


def cut_short_notice(page: str) -> str | None:
    found = re.search(r"<p[^>]*data-cut-short>(.*?)</p>", page, re.S)
    return html.unescape(found.group(1)) if found else None


def test_the_visit_says_when_the_chart_has_more_goals_than_flip_reads(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)
    assert visit.get()["cut_short"] == []
    assert cut_short_notice(visit.page.text) is None
    seed_all(family_visit, [goal(f"g-{n}") for n in range(MORE_THAN_READ)])
    before = scrape_fhir_metrics(family_visit.flip_url)
    later = launch(family_visit)
    fhir_requests = (scrape_fhir_metrics(family_visit.flip_url) - before).requests
    assert later.get()["cut_short"] == ["last plans' goals"]
    notice = cut_short_notice(later.page.text)
    assert notice is not None and "more than Flip reads at once of: last plans' goals." in notice
    assert "check the chart for the rest" in notice
    assert "Lacrosse travel without my vest" in later.page.text  # the rest of the visit
    # Bounded: the launch's requests, one batch and 3 more pages of goals; never 5 pages.
    assert fhir_requests <= 3 + MAX_PAGES, fhir_requests


def test_the_partnering_notes_say_when_a_year_of_answers_is_more_than_flip_reads(
    family_visit: Deployment,
) -> None:
    older = [
        previsit(f"qr-old-{n}", "Patient/p1", f"Concern {n}", days_ago=40)
        for n in range(MORE_THAN_READ)
    ]
    seed_all(family_visit, older)
    visit = launch(family_visit)
    assert visit.get()["cut_short"] == []  # older than the visit's window: not its answers
    page = visit.browser.get(visit.page.url.replace("/visit", "/partnering"))
    assert page.status_code == 200
    notice = cut_short_notice(page.text)
    assert notice is not None and "Flip reads at once of: pre-visit answers." in notice
