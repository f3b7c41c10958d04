"""The chart page in a real browser: banner, and the app framed cross-site with a launch."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect

from ehr_sandbox.demo import build_demo_bundle
from ehr_sandbox.launch_context import find_launch
from tests.conftest import LiveSandbox, sandbox_state, start_sandbox
from tests.support.live_server import serve

MIA = "flip-demo-mia-thompson"
MIA_VISIT = "flip-demo-mia-thompson-visit"


class StubApp:
    """A stand-in for the Flip app at its own origin: records each launch it receives."""

    def __init__(self) -> None:
        self.launches: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        # Only launches: the chart also asks this origin for its CDS card (cds_client.py).
        if environ.get("PATH_INFO") == "/launch":
            with self._lock:
                self.launches.append(environ.get("QUERY_STRING", ""))
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [b"<!doctype html><title>Stub app</title><p>Stub app received the launch</p>"]


@pytest.fixture
def stub_app() -> Iterator[tuple[StubApp, str]]:
    app = StubApp()
    with serve(lambda _port: app) as port:
        yield app, f"http://127.0.0.1:{port}/launch"


@pytest.fixture
def sandbox_with_stub(tmp_path: Path, stub_app: tuple[StubApp, str]) -> Iterator[LiveSandbox]:
    # The sandbox answers at localhost and the app at 127.0.0.1: two sites, as in production.
    url = f"sqlite:///{tmp_path / 'sandbox.sqlite3'}"
    for sandbox in start_sandbox(url, app_launch_url=stub_app[1]):
        bundle = build_demo_bundle(date.today())
        seeded = requests.post(sandbox.open_fhir_base, json=bundle, timeout=30)
        assert seeded.status_code == 200, seeded.text
        yield sandbox


@pytest.mark.browser
def test_chart_page_frames_the_app_with_an_ehr_launch(
    page: Page, sandbox_with_stub: LiveSandbox, stub_app: tuple[StubApp, str]
) -> None:
    sandbox, (app, launch_url) = sandbox_with_stub, stub_app
    page.goto(f"{sandbox.url}/chart/{MIA}?encounter={MIA_VISIT}")

    expect(page.get_by_role("heading", level=1)).to_have_text("Mia Thompson")
    expect(page.get_by_text("MRN")).to_be_visible()
    frame = page.frame_locator("iframe[title='Flip']")
    expect(frame.get_by_text("Stub app received the launch")).to_be_visible()

    framed = next(f for f in page.frames if f.url.startswith(launch_url))
    query = parse_qs(urlsplit(framed.url).query)
    assert query["iss"] == [sandbox.fhir_base]
    assert parse_qs(app.launches[-1])["launch"] == query["launch"]
    with sandbox_state(sandbox.app).db.session() as session:
        launch = find_launch(session, query["launch"][0])
    assert launch is not None
    assert (launch.patient, launch.encounter) == (MIA, MIA_VISIT)
    box = page.locator("iframe[title='Flip']").bounding_box()
    assert box is not None and 380 <= box["width"] <= 420
