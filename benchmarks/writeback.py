"""Write-back as felt: a click on Finish to "Saved to the chart" on the page, in Chromium.

Each finish is its own visit: a new Encounter of the benchmark patient, opened in the
sandbox's chart (untimed), its patient and family items set to addressed, a plan item, a
goal and a partnering note typed (untimed). The clock starts at the click on "Finish and
save to chart" (the event's `timeStamp`) and stops when the status line reads "Saved
to ..." and has been painted, both stamped in the frame on the browser's clock. Between
the two: the form's last PUT, the POST of the plan, and Flip's outbox worker writing it
(woken by the commit) while the POST waits for its answer (up to 2 s); plan.js polls the
write-back status only when the POST answered before the write ended.

The floor is the writes themselves: after Flip wrote, the benchmark reads back what it
wrote (the resource ids the page lists, through the open FHIR base) and sends the same
requests to the protected base with its own bearer token, at the same latency, on one
kept-alive connection: one transaction Bundle per transaction Flip sent (the plan's
resources, then their Provenances, each entry `ifNoneExist` on a fresh identifier or on
its target, as Flip's are), or else one conditional create per resource in Flip's order,
each preceded by a search where Flip searched first. Reads Flip makes before writing
(the CapabilityStatement, cached after the first) are not in the floor.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Browser, Frame, Page, Request, expect

from benchmarks import chart
from benchmarks.chromium import FRAME, TIMEOUT_MS, chromium
from benchmarks.measure import DirectClient, median_ms, p95_ms, seed_visit, visit_search_urls
from benchmarks.servers import Deployment, deploy
from launch.metrics import FHIR_LATENCY, FHIR_REQUESTS

# The outbox worker is off in a `testing` Flip; the write-back needs it (woken on commit).
WORKER_CONFIG = {"outbox_worker": True}
WRITEBACK_LATENCY_MS = 50  # the latency for Finish-to-saved
TIMEOUT_S = 60.0
_REFERENCE = re.compile(r"\(([A-Z][A-Za-z]+/[^)\s]+)\)")
# Runs in every document; only Flip's visit page has the Finish button and status line.
_STAMPS = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  addEventListener("click", (event) => {
    if (!event.target.closest || !event.target.closest("#finish-plan")) { return; }
    window.__benchFinish = performance.timeOrigin + event.timeStamp;
    const watch = () => {
      const status = document.getElementById("plan-status");
      if (status && status.textContent.startsWith("Saved to")) {
        const after = new MessageChannel();  // delivered once this frame has been painted
        after.port1.onmessage = () => { window.__benchSaved = now(); };
        after.port2.postMessage(null);
        return;
      }
      requestAnimationFrame(watch);
    };
    requestAnimationFrame(watch);
  }, true);
})();
"""


@dataclass(frozen=True, slots=True)
class WritebackResult:
    """Finish-to-saved in Chromium at one latency, against the same writes sent directly."""

    latency_ms: int
    finishes: int
    felt_median_ms: float
    felt_p95_ms: float
    direct_median_ms: float
    ratio: float  # felt median / direct median
    flip_requests: float  # FHIR requests Flip sent per write-back (median)
    # ("Type interaction", count) of the last write-back: "CarePlan update" retires the
    # last visit's plan, read first for its ETag.
    flip_interactions: tuple[tuple[str, int], ...]
    finish_post_median_ms: float  # the POST of the plan, as the page saw it
    flip_fhir_wait_median_ms: float  # Flip's time waiting on the EHR for the write-back
    polls_median: float  # status polls the page made before it read "written"


@dataclass(frozen=True, slots=True)
class _Finish:
    seconds: float
    post_s: float
    polls: int
    written: tuple[str, ...]  # "Type/id" of each written resource, in the status's order
    interactions: dict[str, int]
    fhir_wait_s: float


def _fhir_counters() -> tuple[Counter[str], float]:
    """Flip's FHIR requests so far by "Type interaction", and its seconds waiting."""
    counts: Counter[str] = Counter()
    for metric in FHIR_REQUESTS.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total"):
                labels = sample.labels
                counts[f"{labels['resource_type']} {labels['interaction']}"] += int(sample.value)
    wait = sum(
        sample.value
        for metric in FHIR_LATENCY.collect()
        for sample in metric.samples
        if sample.name.endswith("_sum")
    )
    return counts, wait


def _seed_encounter(deployment: Deployment, number: int) -> str:
    """A new in-progress Encounter of the patient, so each finish is a new plan."""
    template = next(
        r for r in chart.visit_chart(datetime.now(UTC)) if r["resourceType"] == "Encounter"
    )
    encounter = f"e-writeback-{number}-{uuid.uuid4().hex[:8]}"
    deployment.put_all([{**template, "id": encounter}])
    return encounter


def _open_visit(page: Page, deployment: Deployment, encounter: str) -> Frame:
    """Open the chart on `encounter` and wait for Flip's visit page in its frame."""
    page.goto(
        f"{deployment.sandbox_url}/chart/{chart.PATIENT}"
        f"?encounter={encounter}&practitioner={chart.PRACTITIONER}"
    )
    expect(page.frame_locator(FRAME).locator("[data-number-one]")).to_be_visible()
    return next(f for f in page.frames if f.url.startswith(f"{deployment.flip_url}/l/"))


def _prepare(frame: Frame) -> None:
    """Close the patient's and family's items and type a small plan, each save awaited."""
    items = frame.locator("[data-agenda-item]:not([data-source=clinician])")
    for number in range(items.count()):
        with frame.page.expect_response(
            lambda r: "/api/visit/agenda" in r.url and r.request.method != "GET"
        ) as answer:
            items.nth(number).locator("[data-status-select]").select_option("addressed")
        if not answer.value.ok:
            raise RuntimeError(f"setting an item's status answered {answer.value.status}")
    frame.locator("#something-else-asked").check()
    frame.locator(".plan-text").first.fill("Dietitian call about enzymes")
    frame.locator("#partnering-text").fill("Maya leads; mom joins for medication changes.")
    with frame.page.expect_response(lambda r: r.url.endswith("/visit/plan/form")):
        frame.locator(".goal-text").first.fill("Play the whole lacrosse season")


def _finish(page: Page, frame: Frame) -> _Finish:
    """Click Finish; the stamped time until "Saved to" is painted, and what it took."""
    sent: list[Request] = []

    def record(request: Request) -> None:
        if "/visit/plan" in request.url or request.url.endswith("/visit/writeback"):
            sent.append(request)

    counts_before, wait_before = _fhir_counters()
    page.on("requestfinished", record)
    try:
        frame.locator("#finish-plan").click()
        saved = float(frame.wait_for_function("() => window.__benchSaved").json_value())
    finally:
        page.remove_listener("requestfinished", record)
    clicked = float(frame.evaluate("() => window.__benchFinish"))
    counts_after, wait_after = _fhir_counters()
    posts = [r for r in sent if r.method == "POST" and r.url.endswith("/visit/plan")]
    post_s = posts[0].timing["responseEnd"] / 1000 if posts else 0.0
    listed = frame.locator("[data-writeback-resource][data-status=written]").all_text_contents()
    written = tuple(m.group(1) for text in listed if (m := _REFERENCE.search(text)))
    return _Finish(
        seconds=(saved - clicked) / 1000,
        post_s=post_s,
        polls=sum(1 for r in sent if r.method == "GET"),
        written=written,
        interactions={k: v for k, v in (counts_after - counts_before).items() if v},
        fhir_wait_s=wait_after - wait_before,
    )


def _read(deployment: Deployment, reference: str) -> dict[str, Any]:
    answer = requests.get(f"{deployment.open_fhir_base}/{reference}", timeout=TIMEOUT_S)
    answer.raise_for_status()
    resource: dict[str, Any] = answer.json()
    return resource


def _relink(value: Any, links: dict[str, str]) -> Any:
    """`value` with every reference to a key of `links` pointing at its value instead."""
    if isinstance(value, dict):
        return {
            k: links.get(v, v) if k == "reference" and isinstance(v, str) else _relink(v, links)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_relink(v, links) for v in value]
    return value


def _as_new(resource: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The resource without id/meta, with fresh identifier values; its ifNoneExist query."""
    fresh = {k: v for k, v in resource.items() if k not in ("id", "meta")}
    identifiers = [
        {**i, "value": f"{i['value']}-floor-{uuid.uuid4().hex[:8]}"}
        for i in resource.get("identifier") or []
        if "value" in i
    ]
    if identifiers:
        fresh["identifier"] = identifiers
        first = identifiers[0]
        return fresh, f"identifier={first.get('system', '')}|{first['value']}"
    return fresh, None


class _Direct:
    """The benchmark's own client sending Flip's writes to the protected base."""

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.http = requests.Session()
        client = DirectClient(deployment, visit_search_urls(deployment), requests.Session())
        self.headers = {
            "Authorization": f"Bearer {client.floor().access_token}",
            "Accept": "application/fhir+json",
            "Content-Type": "application/fhir+json",
        }

    def _send(
        self, method: str, url: str, *, json: Any = None, extra: dict[str, str] | None = None
    ) -> dict[str, Any]:
        headers = {**self.headers, **(extra or {})}
        answer = self.http.request(method, url, headers=headers, json=json, timeout=TIMEOUT_S)
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"direct {method} {url}: {answer.status_code} {answer.text[:300]}")
        body: dict[str, Any] = answer.json() if answer.content else {}
        location = answer.headers.get("Location", "")
        if body.get("resourceType") != "Bundle" and body.get("id"):
            body["_reference"] = f"{body['resourceType']}/{body['id']}"
        elif location:
            body["_reference"] = "/".join(location.split("/_history")[0].split("/")[-2:])
        return body

    def writes(self, finish: _Finish, earlier: list[str]) -> float:
        """Seconds to send the same requests as Flip did for `finish`: its writes, read back
        from the chart, then a read and a PUT (If-Match) of one of Flip's `earlier` resources
        for each read-then-update Flip made of that type (retiring the last plan)."""
        seconds = self._creates(finish)
        started = time.perf_counter()
        for kind_interaction, count in finish.interactions.items():
            kind, _, interaction = kind_interaction.partition(" ")
            pool = [ref for ref in earlier if ref.startswith(f"{kind}/")]
            if interaction != "update" or not pool:
                continue
            for number in range(count):
                url = f"{self.deployment.fhir_base}/{pool[number % len(pool)]}"
                answer = self.http.get(url, headers=self.headers, timeout=TIMEOUT_S)
                answer.raise_for_status()
                etag = {"If-Match": answer.headers["ETag"]} if "ETag" in answer.headers else {}
                self._send("PUT", url, json=answer.json(), extra=etag)
        return seconds + time.perf_counter() - started

    def _creates(self, finish: _Finish) -> float:
        resources = [(ref, _read(self.deployment, ref)) for ref in finish.written]
        targets = [(ref, r) for ref, r in resources if r["resourceType"] != "Provenance"]
        provenances = [r for _, r in resources if r["resourceType"] == "Provenance"]
        base = self.deployment.fhir_base
        started = time.perf_counter()
        if any(k.endswith(" transaction") for k in finish.interactions):
            links = {ref: f"urn:uuid:{uuid.uuid4()}" for ref, _ in targets}
            entries = []
            for ref, resource in targets:
                fresh, query = _as_new(_relink(resource, links))
                request = {"method": "POST", "url": fresh["resourceType"]}
                entries.append({"fullUrl": links[ref], "resource": fresh, "request": request})
                if query:
                    request["ifNoneExist"] = query
            answer = self._send("POST", base, json=_bundle(entries))
            created = [_location(e) for e in answer.get("entry") or []]
            links = dict(zip((ref for ref, _ in targets), created, strict=True))
            if provenances:
                entries = [_provenance_entry(_relink(p, links)) for p in provenances]
                self._send("POST", base, json=_bundle(entries))
            return time.perf_counter() - started
        links = {}
        searched = any(k.endswith(" search") for k in finish.interactions)
        for ref, resource in resources:
            fresh, query = _as_new(_relink(resource, links))
            kind = fresh["resourceType"]
            if kind == "Provenance":
                query = f"target={fresh['target'][0]['reference']}"
            if searched and query:
                self._send("GET", f"{base}/{kind}?{query}")
            headers = {"If-None-Exist": query} if query and not searched else {}
            answer = self._send("POST", f"{base}/{kind}", json=fresh, extra=headers)
            links[ref] = str(answer.get("_reference", ref))
        return time.perf_counter() - started


def _bundle(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def _location(entry: dict[str, Any]) -> str:
    location = str((entry.get("response") or {}).get("location", ""))
    return "/".join(location.split("/_history")[0].split("/")[-2:])


def _provenance_entry(provenance: dict[str, Any]) -> dict[str, Any]:
    fresh, _ = _as_new(provenance)
    target = fresh["target"][0]["reference"]
    request = {"method": "POST", "url": "Provenance", "ifNoneExist": f"target={target}"}
    return {"resource": fresh, "request": request}


def measure_writeback(
    deployment: Deployment,
    latency_ms: int = WRITEBACK_LATENCY_MS,
    finishes: int = 5,
    *,
    browser: Browser | None = None,
) -> WritebackResult:
    """`finishes` timed Finish-to-saved, each a new visit, each followed by its floor.

    `deployment` must run Flip's outbox worker (`deploy(..., flip_config=WORKER_CONFIG)`)
    and hold the visit's chart (`seed_visit`).
    """
    if browser is None:
        with chromium() as launched:
            return measure_writeback(deployment, latency_ms, finishes, browser=launched)
    if not deployment.flip.extensions.get("flip_outbox_worker"):
        raise RuntimeError("Flip runs no outbox worker: deploy with flip_config=WORKER_CONFIG")
    deployment.set_latency(latency_ms)
    direct = _Direct(deployment)
    context = browser.new_context()
    context.add_init_script(_STAMPS)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    timed: list[_Finish] = []
    direct_s: list[float] = []
    try:
        for number in range(finishes):
            frame = _open_visit(page, deployment, _seed_encounter(deployment, number))
            _prepare(frame)
            finish = _finish(page, frame)
            if not finish.written:
                raise RuntimeError("the page lists nothing written to the chart")
            timed.append(finish)
            direct_s.append(direct.writes(finish, [r for f in timed[:-1] for r in f.written]))
    finally:
        context.close()
    felt = [f.seconds for f in timed]
    return WritebackResult(
        latency_ms=latency_ms,
        finishes=finishes,
        felt_median_ms=median_ms(felt),
        felt_p95_ms=p95_ms(felt),
        direct_median_ms=median_ms(direct_s),
        ratio=statistics.median(felt) / statistics.median(direct_s),
        flip_requests=statistics.median(sum(f.interactions.values()) for f in timed),
        flip_interactions=tuple(sorted(timed[-1].interactions.items())),
        finish_post_median_ms=median_ms([f.post_s for f in timed]),
        flip_fhir_wait_median_ms=median_ms([f.fhir_wait_s for f in timed]),
        polls_median=statistics.median(f.polls for f in timed),
    )


def describe(result: WritebackResult) -> str:
    """The result in one paragraph."""
    interactions = ", ".join(f"{n} {name}" for name, n in result.flip_interactions)
    return (
        f"@{result.latency_ms} ms, {result.finishes} finishes: Finish-to-saved "
        f"{result.felt_median_ms:.0f} ms (p95 {result.felt_p95_ms:.0f}), direct writes "
        f"{result.direct_median_ms:.0f} ms, ratio {result.ratio:.2f}x\n"
        f"    Flip: {result.flip_requests:g} FHIR requests per write-back ({interactions}), "
        f"waiting {result.flip_fhir_wait_median_ms:.0f} ms on the EHR; POST /visit/plan "
        f"{result.finish_post_median_ms:.0f} ms; {result.polls_median:g} status polls"
    )


def main(argv: list[str]) -> None:
    """`python -m benchmarks.writeback [finishes] [latency_ms]`: print the measure."""
    finishes = int(argv[0]) if argv else 5
    latency_ms = int(argv[1]) if len(argv) > 1 else 50
    with (
        tempfile.TemporaryDirectory(prefix="flip-bench-") as folder,
        deploy(Path(folder), flip_config=WORKER_CONFIG) as ehr,
    ):
        seed_visit(ehr)
        print(describe(measure_writeback(ehr, latency_ms, finishes)))


if __name__ == "__main__":
    main(sys.argv[1:])
