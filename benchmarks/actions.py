"""Agenda actions: Flip's server time for each, and proof they do not re-read the chart.

Each action is sent as the visit page's script sends it (flip-api.js: the page's
`X-Flip-Launch` secret and the tab's binding), after one launch. Its server time is the
request's wall time minus Flip's own wait on FHIR during it (its /metrics), as for the
page loads in measure.py; the FHIR requests it made are counted too, and an action that
reuses the launch's chart read makes none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from benchmarks.browser import Browser, meta_tags, scrape_fhir_metrics
from benchmarks.measure import launch_once, median_ms, p95_ms
from benchmarks.servers import Deployment

ACTIONS = ("status", "reorder", "add", "merge", "split")


@dataclass(frozen=True, slots=True)
class ActionResult:
    """One agenda action, repeated: Flip's server time and its FHIR requests."""

    action: str
    repeats: int
    server_median_ms: float
    server_p95_ms: float
    fhir_requests: int  # over all repeats: 0 when the chart read is reused


@dataclass
class _Api:
    """The visit API of one launch, called as the page's script calls it."""

    deployment: Deployment
    browser: Browser
    base: str
    headers: dict[str, str]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        answer = self.browser.http.request(
            method, f"{self.base}{path}", json=body, headers=self.headers, timeout=30
        )
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"{method} {path} answered {answer.status_code}: {answer.text}")
        return answer.json()

    def timed(self, method: str, path: str, body: dict[str, Any]) -> tuple[float, float]:
        """Seconds of Flip's own work for one call, and the FHIR requests it made."""
        before = scrape_fhir_metrics(self.deployment.flip_url)
        started = time.perf_counter()
        self.call(method, path, body)
        seconds = time.perf_counter() - started
        fhir = scrape_fhir_metrics(self.deployment.flip_url) - before
        return seconds - fhir.wait_s, fhir.requests


def _open_api(deployment: Deployment) -> tuple[_Api, list[dict[str, Any]]]:
    launched = launch_once(deployment)
    page = launched.browser.get(launched.visit_url)
    base = meta_tags(page.text)["flip-api-base"]
    headers = launched.browser.api_headers(page)
    api = _Api(deployment, launched.browser, urljoin(page.url, base), headers)
    agenda: list[dict[str, Any]] = api.call("GET", "/visit")["agenda"]
    return api, agenda


def _bodies(agenda: list[dict[str, Any]]) -> dict[str, Callable[[int], tuple[str, str, Any]]]:
    """Per action, the request of its n-th repeat (each one changes the draft)."""
    ids = [item["id"] for item in agenda]
    clinician = next(item["id"] for item in agenda if item["source"] == "clinician")
    number_one = next(item["id"] for item in agenda if item.get("number_one"))
    return {
        "status": lambda n: (
            "PUT",
            "/visit/agenda",
            {"statuses": {number_one: {"status": ("addressed", "open")[n % 2]}}},
        ),
        "reorder": lambda n: ("PUT", "/visit/agenda", {"order": ids[::-1] if n % 2 else ids}),
        "add": lambda n: ("POST", "/visit/agenda/items", {"text": f"Bench item {n}"}),
        "merge": lambda n: ("POST", "/visit/agenda/merge", {"item": clinician, "into": number_one}),
        "split": lambda n: ("POST", "/visit/agenda/split", {"item": clinician}),
    }


def measure_actions(deployment: Deployment, repeats: int) -> list[ActionResult]:
    """Each agenda action `repeats` times in one launch (merge and split alternate)."""
    api, agenda = _open_api(deployment)
    bodies = _bodies(agenda)
    timings: dict[str, list[float]] = {action: [] for action in ACTIONS}
    requests_made = dict.fromkeys(ACTIONS, 0.0)
    for n in range(repeats):
        for action in ACTIONS:
            seconds, fhir_requests = api.timed(*bodies[action](n))
            timings[action].append(seconds)
            requests_made[action] += fhir_requests
    return [
        ActionResult(
            action=action,
            repeats=repeats,
            server_median_ms=median_ms(timings[action]),
            server_p95_ms=p95_ms(timings[action]),
            fhir_requests=round(requests_made[action]),
        )
        for action in ACTIONS
    ]
