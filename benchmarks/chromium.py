"""The real-browser measure: a click on the patient in the clinic day to the number one concern.

In the Debian Chromium the tests use, a clinician on the sandbox's clinic day clicks the
patient; the chart opens and frames the app; the clock stops when the patient's number
one concern is painted in the frame. The same is done, interleaved, with the browser
floor (benchmarks/floor_app.py) in the same frame of the same chart, from the second
sandbox (benchmarks/servers.py), so a busy moment hits both alike.

Both ends are stamped in the page, on the browser's clock: the click by its event's
`timeStamp`, the concern at the first animation frame where it is laid out and visible,
read after that frame is painted (a task posted from the frame callback). Playwright's
own waiting only says when to read the stamps, so its polling never adds to the time.

Each browser is one clinician's: one context per app, warmed by one untimed click (its
cache then holds the app's CSS and scripts, its jar the app's partitioned cookie, as a
clinician's browser does after the first patient of the day), then reused for every
click. The hops are the documents the frame navigated through, from the network timing
of each document request: a hop lasts from its request's start to the next one's (the
last, to the concern shown), so the hops add up to the click's time.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Browser, BrowserContext, Page, Request, sync_playwright

from benchmarks import chart
from benchmarks.floor_app import number_one_concern
from benchmarks.measure import median_ms, p95_ms, seed_visit, visit_search_urls
from benchmarks.servers import Deployment, deploy

CHROMIUM = os.environ.get("FLIP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking")
TIMEOUT_MS = 30_000
FRAME = "iframe[title='Flip']"
FLIP_CONCERN = "li[data-agenda-item]:has(span.tag:text-is('number one')) [data-text]"
FLOOR_CONCERN = "[data-floor]"
# Runs in every document of the context (top page and frames) before its own scripts.
_STAMPS = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  if (window === window.top) {
    addEventListener("click", (event) => {
      sessionStorage.setItem("bench-click", String(performance.timeOrigin + event.timeStamp));
    }, true);
    return;
  }
  const concern = () => {
    const floor = document.querySelector("[data-floor]");
    if (floor) { return floor; }
    for (const item of document.querySelectorAll("li[data-agenda-item]")) {
      const tags = [...item.querySelectorAll("span.tag")];
      if (tags.some((tag) => tag.textContent.trim() === "number one")) {
        return item.querySelector("[data-text]");
      }
    }
    return null;
  };
  const watch = () => {
    const shown = concern();
    const box = shown && shown.getBoundingClientRect();
    if (box && box.width > 0 && box.height > 0 && getComputedStyle(shown).visibility !== "hidden") {
      const after = new MessageChannel();  // delivered once this frame has been painted
      after.port1.onmessage = () => {
        window.__benchShown = {at: now(), text: shown.textContent.trim()};
      };
      after.port2.postMessage(null);
      return;
    }
    requestAnimationFrame(watch);
  };
  requestAnimationFrame(watch);
})();
"""


@dataclass(frozen=True, slots=True)
class Hop:
    """One step of a launch in the frame (the EHR's chart page is the first), in medians."""

    name: str
    median_ms: float
    clicks: int  # in how many of the timed clicks this hop happened


@dataclass(frozen=True, slots=True)
class ChromiumResult:
    """Click-to-concern in Chromium at one latency, Flip and the browser floor."""

    latency_ms: int
    clicks: int
    flip_median_ms: float
    flip_p95_ms: float
    floor_median_ms: float
    floor_p95_ms: float
    ratio: float  # Flip median / floor median
    flip_hops: tuple[Hop, ...]
    floor_hops: tuple[Hop, ...]


@dataclass(frozen=True, slots=True)
class _Click:
    seconds: float
    hops: tuple[tuple[str, float], ...]  # (name, seconds), in order


@dataclass
class _Clinician:
    """One clinician's browser for one app: its context, its tab, its clinic day."""

    context: BrowserContext
    page: Page
    clinic_day: str
    concern: str  # the selector of the number one concern in the frame

    def click(self, expected: str) -> _Click:
        """Open the clinic day (untimed), click the patient, time until the concern shows."""
        documents: list[Request] = []
        self.page.goto(self.clinic_day)

        def record(request: Request) -> None:
            if request.resource_type == "document" and request.frame != self.page.main_frame:
                documents.append(request)

        self.page.on("requestfinished", record)
        try:
            self.page.locator("tr[data-patient] a", has_text=chart.PATIENT_NAME).click()
            shown = self._shown()
        finally:
            self.page.remove_listener("requestfinished", record)
        if shown["text"] != expected:
            raise RuntimeError(f"the frame shows {shown['text']!r}, not {expected!r}")
        clicked = float(self.page.evaluate("() => sessionStorage.getItem('bench-click')"))
        return _Click((shown["at"] - clicked) / 1000, _hops(clicked, documents, shown["at"]))

    def _shown(self) -> dict[str, Any]:
        try:
            self.page.frame_locator(FRAME).locator(self.concern).wait_for(timeout=TIMEOUT_MS)
            frame = self.page.frame(name="app-sidebar")
            assert frame is not None
            stamp: dict[str, Any] = frame.wait_for_function(
                "() => window.__benchShown", timeout=TIMEOUT_MS
            ).json_value()
        except Exception as exc:  # a timeout, or the frame navigated away: name the page
            urls = [frame.url for frame in self.page.frames]
            raise RuntimeError(f"no number one concern in the frame (frames: {urls})") from exc
        return stamp


def _hops(clicked: float, documents: list[Request], shown: float) -> tuple[tuple[str, float], ...]:
    """(name, seconds) of the chart page, then each document of the frame, then the paint."""
    starts = [request.timing["startTime"] for request in documents]
    last = len(documents) - 1
    names = ["EHR chart page", *(_hop_name(r, last=n == last) for n, r in enumerate(documents))]
    ends = [*starts, shown]
    begins = [clicked, *starts]
    return tuple(
        (name, (end - begin) / 1000) for name, begin, end in zip(names, begins, ends, strict=True)
    )


def _hop_name(request: Request, *, last: bool) -> str:
    """What a document of the launch does, naming the browser binding it carries."""
    path = urlsplit(request.url).path
    redirects = request.redirected_to is not None
    if path == "/auth/authorize":
        return "authorize (EHR, 302)"
    if path == "/launch":
        # Flip answers a page whose script keeps the binding in sessionStorage (launch.js).
        return "launch (302)" if redirects else "launch interstitial (sessionStorage binding)"
    if path == "/callback" and request.method == "POST":
        return "callback form post (sessionStorage binding)"
    if path == "/callback":
        # With the frame's cookie, the callback answers with the visit page itself.
        return "callback: token + batch + page" if last else "callback form page (no cookie)"
    if path.startswith("/l/"):
        page = path.rstrip("/").rsplit("/", 1)[-1]
        if request.method == "POST":
            return f"{page}: prove-tab post (sessionStorage binding)"
        return f"{page}: batch + page" if last else f"{page}: prove-tab page (no cookie)"
    return f"{request.method} {path}"


@contextmanager
def chromium() -> Iterator[Browser]:
    """The Debian Chromium, headless, with the flags the tests use (tests/browser)."""
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
        )
        try:
            yield browser
        finally:
            browser.close()


def _clinician(browser: Browser, sandbox_url: str, concern: str, expected: str) -> _Clinician:
    context = browser.new_context()
    context.add_init_script(_STAMPS)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    clinician = _Clinician(context, page, f"{sandbox_url}/", concern)
    clinician.click(expected)  # warm: this browser has now seen the app once
    return clinician


def _summary(clicks: list[_Click]) -> tuple[Hop, ...]:
    by_name: dict[str, list[float]] = {}
    for click in clicks:
        for name, seconds in click.hops:
            by_name.setdefault(name, []).append(seconds)
    return tuple(Hop(name, median_ms(times), len(times)) for name, times in by_name.items())


def expected_concern() -> str:
    """The number one concern the frame must show: the seeded patient's own."""
    concern = number_one_concern(chart.visit_chart(datetime.now(UTC)), chart.PATIENT)
    assert concern is not None, "benchmarks/chart.py seeds a number one concern"
    return concern


def measure_chromium(
    deployment: Deployment, latency_ms: int, clicks: int, *, browser: Browser | None = None
) -> ChromiumResult:
    """`clicks` timed clicks on the patient, each in Flip then the floor (or the reverse)."""
    if browser is None:
        with chromium() as launched:
            return measure_chromium(deployment, latency_ms, clicks, browser=launched)
    deployment.serve_floor(visit_search_urls(deployment))
    deployment.set_latency(latency_ms)
    expected = expected_concern()
    flip = _clinician(browser, deployment.sandbox_url, FLIP_CONCERN, expected)
    floor = _clinician(browser, deployment.floor_sandbox_url, FLOOR_CONCERN, expected)
    timed: dict[str, list[_Click]] = {"flip": [], "floor": []}
    try:
        for number in range(clicks):
            # Alternate who goes first, so neither always follows the other's load.
            order = (("flip", flip), ("floor", floor))
            for name, clinician in order if number % 2 == 0 else order[::-1]:
                timed[name].append(clinician.click(expected))
    finally:
        flip.context.close()
        floor.context.close()
    flip_s = [c.seconds for c in timed["flip"]]
    floor_s = [c.seconds for c in timed["floor"]]
    return ChromiumResult(
        latency_ms=latency_ms,
        clicks=clicks,
        flip_median_ms=median_ms(flip_s),
        flip_p95_ms=p95_ms(flip_s),
        floor_median_ms=median_ms(floor_s),
        floor_p95_ms=p95_ms(floor_s),
        ratio=statistics.median(flip_s) / statistics.median(floor_s),
        flip_hops=_summary(timed["flip"]),
        floor_hops=_summary(timed["floor"]),
    )


def _print(result: ChromiumResult) -> None:
    print(
        f"@{result.latency_ms} ms, {result.clicks} clicks: "
        f"Flip {result.flip_median_ms:.0f} ms (p95 {result.flip_p95_ms:.0f}), "
        f"floor {result.floor_median_ms:.0f} ms (p95 {result.floor_p95_ms:.0f}), "
        f"ratio {result.ratio:.2f}x"
    )
    for label, hops in (("Flip", result.flip_hops), ("floor", result.floor_hops)):
        for hop in hops:
            print(f"    {label:5} {hop.name:52} {hop.median_ms:7.1f} ms  ({hop.clicks} clicks)")


def main(argv: list[str]) -> None:
    """`python -m benchmarks.chromium [clicks]`: print the measure at 0, 50 and 150 ms."""
    clicks = int(argv[0]) if argv else 10
    with tempfile.TemporaryDirectory(prefix="flip-bench-") as folder, deploy(Path(folder)) as ehr:
        seed_visit(ehr)
        with chromium() as browser:
            for latency_ms in (0, 50, 150):
                _print(measure_chromium(ehr, latency_ms, clicks, browser=browser))


if __name__ == "__main__":
    main(sys.argv[1:])
