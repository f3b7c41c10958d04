"""The measurements: launches through Flip, a direct client's floor and baseline, server time.

Every number comes from requests made in this run; nothing is assumed or hard-coded.
"""

from __future__ import annotations

import math
import secrets
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from benchmarks import chart
from benchmarks.browser import Browser, FhirMetrics, scrape_fhir_metrics
from benchmarks.servers import DIRECT_CLIENT_ID, DIRECT_REDIRECT_URI, Deployment
from launch.context import LaunchContext
from launch.gateway import FHIR_JSON
from launch.registrations import DEFAULT_SCOPE
from smart_app.services import EXTENSION_KEY, Services
from smart_app.visit.searches import VISIT_SEARCHES, visit_searches

TIMEOUT_S = 60.0


def median_ms(seconds: list[float]) -> float:
    """The median, in milliseconds."""
    return statistics.median(seconds) * 1000


def p95_ms(seconds: list[float]) -> float:
    """The 95th percentile by nearest rank, in milliseconds (the maximum below 20 samples)."""
    ordered = sorted(seconds)
    return ordered[math.ceil(0.95 * len(ordered)) - 1] * 1000


@dataclass(frozen=True, slots=True)
class Launch:
    """One launch through Flip, from GET /launch to the rendered visit page."""

    seconds: float
    fhir: FhirMetrics  # Flip's FHIR requests and waiting during this launch
    browser: Browser
    visit_url: str
    # Flip's own work in all of its hops: their response times, less its waits on the EHR.
    flip_server_s: float


def check_visit_page(page: requests.Response) -> int:
    """The number of agenda items on a real visit page; raises if it is not one."""
    items = page.text.count("data-agenda-item")
    if page.status_code != 200 or chart.PATIENT_NAME not in page.text:
        raise RuntimeError(f"no visit page ({page.status_code}): {page.text[:300]}")
    if items < chart.MIN_AGENDA_ITEMS:
        raise RuntimeError(f"the visit page shows {items} agenda items, not a real agenda")
    return items


def launch_once(deployment: Deployment) -> Launch:
    """Click Flip in the chart (untimed), then time the launch to the agenda."""
    created = deployment.create_launch(chart.PATIENT, chart.ENCOUNTER, chart.PRACTITIONER)
    before = scrape_fhir_metrics(deployment.flip_url)
    browser = Browser()
    flip_hops: list[float] = []

    def time_flip_hops(response: requests.Response, *_: Any, **__: Any) -> None:
        if response.url.startswith(deployment.flip_url):
            flip_hops.append(response.elapsed.total_seconds())

    browser.http.hooks["response"].append(time_flip_hops)
    started = time.perf_counter()
    page = browser.launch(created["launch_url"])
    seconds = time.perf_counter() - started
    browser.http.hooks["response"].remove(time_flip_hops)
    fhir = scrape_fhir_metrics(deployment.flip_url) - before
    check_visit_page(page)
    flip_server = sum(flip_hops) - fhir.wait_s - fhir.token_wait_s
    return Launch(seconds, fhir, browser, page.url, flip_server)


def visit_search_urls(deployment: Deployment) -> list[str]:
    """The relative search URLs Flip puts in its batch, from Flip's own `visit_searches`.

    Built by Flip's code rather than copied here, so the baseline fetches exactly what Flip
    fetches even when the searches change.
    """
    services: Services = deployment.flip.extensions[EXTENSION_KEY]
    context = LaunchContext(
        iss=deployment.fhir_base,
        patient=chart.PATIENT,
        encounter=chart.ENCOUNTER,
        fhir_user=f"Practitioner/{chart.PRACTITIONER}",
        need_patient_banner=False,
        smart_style_url=None,
        intent=None,
        fhir_context=(),
        granted_scopes=frozenset(DEFAULT_SCOPE.split()),
    )
    named = visit_searches(
        context,
        services.settings.canonical_base,
        timedelta(days=services.settings.previsit_window_days),
        team=[chart.PRACTITIONER],
    )
    return [named[name].relative_url() for name in VISIT_SEARCHES]


@dataclass(frozen=True, slots=True)
class Floor:
    """The direct client's authorize, token and one batch, each timed on its own."""

    authorize_s: float
    token_s: float
    batch_s: float
    access_token: str

    @property
    def seconds(self) -> float:
        """The floor: the three requests no launch can avoid."""
        return self.authorize_s + self.token_s + self.batch_s


@dataclass
class DirectClient:
    """The benchmark's own SMART client: no pages, no database, just the HTTP it needs."""

    deployment: Deployment
    searches: list[str]
    http: requests.Session

    def floor(self) -> Floor:
        """Run one EHR launch's authorize + token + FHIR batch, timing each request."""
        created = self.deployment.create_launch(chart.PATIENT, chart.ENCOUNTER, chart.PRACTITIONER)
        verifier = secrets.token_urlsafe(48)
        params = {
            "response_type": "code",
            "client_id": DIRECT_CLIENT_ID,
            "redirect_uri": DIRECT_REDIRECT_URI,
            "scope": DEFAULT_SCOPE,
            "state": secrets.token_urlsafe(16),
            "aud": self.deployment.fhir_base,
            "launch": created["launch"],
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        started = time.perf_counter()
        authorized = self.http.get(
            f"{self.deployment.sandbox_url}/auth/authorize",
            params=params,
            allow_redirects=False,
            timeout=TIMEOUT_S,
        )
        authorize_s = time.perf_counter() - started
        if authorized.status_code != 302:
            raise RuntimeError(f"authorize answered {authorized.status_code}: {authorized.text}")
        code = parse_qs(urlsplit(authorized.headers["Location"]).query)["code"][0]
        started = time.perf_counter()
        token = self.http.post(
            f"{self.deployment.sandbox_url}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": DIRECT_REDIRECT_URI,
                "code_verifier": verifier,
                "client_id": DIRECT_CLIENT_ID,
            },
            timeout=TIMEOUT_S,
        )
        token_s = time.perf_counter() - started
        if token.status_code != 200:
            raise RuntimeError(f"token answered {token.status_code}: {token.text}")
        access_token: str = token.json()["access_token"]
        return Floor(authorize_s, token_s, self.batch(access_token), access_token)

    def batch(self, access_token: str) -> float:
        """Seconds to fetch the visit's searches as one batch Bundle, as Flip does."""
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": url}} for url in self.searches],
        }
        started = time.perf_counter()
        answer = self._fhir("POST", self.deployment.fhir_base, access_token, bundle)
        seconds = time.perf_counter() - started
        if len(answer.get("entry") or []) != len(self.searches):
            raise RuntimeError("the batch response is missing entries")
        return seconds

    def sequential(self, access_token: str) -> float:
        """Seconds to fetch the same searches one after another, following `next` links."""
        started = time.perf_counter()
        for relative in self.searches:
            url: str | None = f"{self.deployment.fhir_base}/{relative}"
            while url:
                url = _next_url(self._fhir("GET", url, access_token, None))
        return time.perf_counter() - started

    def _fhir(
        self, method: str, url: str, access_token: str, body: dict[str, Any] | None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}", "Accept": FHIR_JSON}
        answer = self.http.request(method, url, json=body, headers=headers, timeout=TIMEOUT_S)
        if answer.status_code != 200:
            raise RuntimeError(f"{method} {url} answered {answer.status_code}: {answer.text}")
        payload: dict[str, Any] = answer.json()
        return payload


def _next_url(bundle: dict[str, Any]) -> str | None:
    for link in bundle.get("link") or []:
        if link.get("relation") == "next":
            url: str = link["url"]
            return url
    return None


@dataclass(frozen=True, slots=True)
class LatencyResult:
    """Everything measured at one injected latency."""

    latency_ms: int
    launches: int
    launch_median_ms: float
    launch_p95_ms: float
    fhir_requests_per_launch: int  # the most any timed launch sent after its token
    flip_server_median_ms: float  # Flip's own work per launch, all of its hops
    flip_batch_median_ms: float  # Flip's own wait for its batch (its /metrics histogram)
    floor_median_ms: float
    floor_authorize_median_ms: float
    floor_token_median_ms: float
    floor_batch_median_ms: float
    sequential_median_ms: float
    sequential_requests: int
    floor_ratio: float  # launch median / floor median
    sequential_ratio: float  # Flip's batch wait / the sequential fetch, medians


def measure_latency(deployment: Deployment, latency_ms: int, launches: int) -> LatencyResult:
    """N launches through Flip, N direct floors and N sequential fetches at one latency."""
    deployment.set_latency(latency_ms)
    direct = DirectClient(deployment, visit_search_urls(deployment), requests.Session())
    runs: list[Launch] = []
    floors: list[Floor] = []
    sequential: list[float] = []
    # Interleaved, so a busy moment on a shared machine hits Flip and the floor alike
    # instead of skewing their ratio.
    for _ in range(launches):
        runs.append(launch_once(deployment))
        floors.append(direct.floor())
        sequential.append(direct.sequential(floors[-1].access_token))
    launch_median = median_ms([r.seconds for r in runs])
    floor_median = median_ms([f.seconds for f in floors])
    flip_batch = median_ms([r.fhir.batch_wait_s for r in runs])
    sequential_median = median_ms(sequential)
    return LatencyResult(
        latency_ms=latency_ms,
        launches=launches,
        launch_median_ms=launch_median,
        launch_p95_ms=p95_ms([r.seconds for r in runs]),
        fhir_requests_per_launch=round(max(r.fhir.requests for r in runs)),
        flip_server_median_ms=median_ms([r.flip_server_s for r in runs]),
        flip_batch_median_ms=flip_batch,
        floor_median_ms=floor_median,
        floor_authorize_median_ms=median_ms([f.authorize_s for f in floors]),
        floor_token_median_ms=median_ms([f.token_s for f in floors]),
        floor_batch_median_ms=median_ms([f.batch_s for f in floors]),
        sequential_median_ms=sequential_median,
        sequential_requests=len(direct.searches),
        floor_ratio=launch_median / floor_median,
        sequential_ratio=flip_batch / sequential_median,
    )


@dataclass(frozen=True, slots=True)
class ChartResult:
    """Flip's server time per agenda for one chart size."""

    filler_resources: int
    page_loads: int
    answer_items: int  # items of the teen's pre-visit answer (chart.SMALL_ANSWER_ITEMS: small)
    server_median_ms: float
    server_p95_ms: float
    fhir_wait_median_ms: float  # the sandbox's share, excluded from server time


def measure_chart(deployment: Deployment, filler_resources: int, page_loads: int) -> ChartResult:
    """Launch once, then load the visit page `page_loads` times, each split Flip vs FHIR."""
    launched = _launched_and_loaded(deployment)
    loads = [_timed_load(deployment, launched) for _ in range(page_loads)]
    return _chart_result(filler_resources, chart.SMALL_ANSWER_ITEMS, loads)


def measure_answers(
    deployment: Deployment, filler_resources: int, page_loads: int, now: datetime, items: int
) -> tuple[ChartResult, ChartResult]:
    """The visit page with the teen's small answer and with an `items`-item one, in turns.

    The answer is swapped (untimed) before each load, so a busy moment of the machine
    falls on both sizes alike instead of skewing their ratio. The small answer is left.
    """
    launched = _launched_and_loaded(deployment)
    small = chart.SMALL_ANSWER_ITEMS
    loads: dict[int, list[tuple[float, float]]] = {small: [], items: []}
    for _ in range(page_loads):
        for size, found in loads.items():
            deployment.put(chart.teen_answer(now, other_concerns=size - 1))
            found.append(_timed_load(deployment, launched))
    deployment.put(chart.teen_answer(now))
    return (
        _chart_result(filler_resources, small, loads[small]),
        _chart_result(filler_resources, items, loads[items]),
    )


def _launched_and_loaded(deployment: Deployment) -> Launch:
    launched = launch_once(deployment)
    # One untimed load first: what varies between sizes should be the chart, not warm-up.
    check_visit_page(launched.browser.get(launched.visit_url))
    return launched


def _timed_load(deployment: Deployment, launched: Launch) -> tuple[float, float]:
    """One load of the visit page: Flip's server time and its wait on the EHR, seconds."""
    before = scrape_fhir_metrics(deployment.flip_url)
    started = time.perf_counter()
    page = launched.browser.get(launched.visit_url)
    seconds = time.perf_counter() - started
    fhir = scrape_fhir_metrics(deployment.flip_url) - before
    check_visit_page(page)
    return seconds - fhir.wait_s, fhir.wait_s


def _chart_result(
    filler_resources: int, answer_items: int, loads: list[tuple[float, float]]
) -> ChartResult:
    server = [s for s, _ in loads]
    return ChartResult(
        filler_resources=filler_resources,
        page_loads=len(loads),
        answer_items=answer_items,
        server_median_ms=median_ms(server),
        server_p95_ms=p95_ms(server),
        fhir_wait_median_ms=median_ms([w for _, w in loads]),
    )


def seed_visit(deployment: Deployment) -> datetime:
    """Seed the visit's chart; its `now` anchors the pre-visit window and the filler."""
    now = datetime.now(UTC)
    deployment.put_all(chart.visit_chart(now))
    return now
