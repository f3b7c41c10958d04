"""The sandbox EHR's pages: clinic day, chart with the app launched in a sidebar, portal."""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask

from ehr_sandbox.demo import build_demo_bundle, demo_practitioner_id
from ehr_sandbox.launch_context import LaunchContext, find_launch
from tests.conftest import LiveSandbox, sandbox_state

TYLER = "flip-demo-tyler-brooks"
TYLER_VISIT = "flip-demo-tyler-brooks-visit"
APP_LAUNCH_URL = "http://127.0.0.1:8080/launch"


class _Tags(HTMLParser):
    """Collects the attributes of every start tag, by tag name."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, list[dict[str, str]]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.setdefault(tag, []).append({k: v or "" for k, v in attrs})


def tags(html: str, name: str) -> list[dict[str, str]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags.get(name, [])


def seed_demo(sandbox: LiveSandbox) -> None:
    """Load the demo clinic the way `make demo` does: one transaction to the open FHIR base."""
    bundle = build_demo_bundle(date.today())
    answer = requests.post(sandbox.open_fhir_base, json=bundle, timeout=30)
    assert answer.status_code == 200, answer.text


def launch_of(app: Flask, launch_id: str) -> LaunchContext | None:
    with sandbox_state(app).db.session() as session:
        return find_launch(session, launch_id)


@pytest.fixture
def demo(sandbox: LiveSandbox) -> LiveSandbox:
    seed_demo(sandbox)
    return sandbox


def test_home_lists_patients_and_todays_appointments(demo: LiveSandbox) -> None:
    page = requests.get(f"{demo.url}/", timeout=5)
    assert page.status_code == 200
    assert "Tyler Brooks" in page.text and "Ada Lindqvist" in page.text
    assert page.text.count("data-appointment") >= 12
    assert "FEV1 down from last visit; review airway clearance adherence" in page.text
    assert "10:00" in page.text and "Dr. Maya Okafor" in page.text
    hrefs = [a["href"] for a in tags(page.text, "a")]
    assert f"/chart/{TYLER}?encounter={TYLER_VISIT}" in hrefs
    assert "/portal" in hrefs


def test_chart_shows_the_banner_and_launches_the_app_in_the_sidebar(demo: LiveSandbox) -> None:
    page = requests.get(f"{demo.url}/chart/{TYLER}", params={"encounter": TYLER_VISIT}, timeout=5)
    assert page.status_code == 200
    assert "Tyler Brooks" in page.text and "FLIP00004" in page.text
    assert "Cystic fibrosis" in page.text and "FEV1 measured/predicted" in page.text
    (frame,) = tags(page.text, "iframe")
    assert frame["title"] == "Flip"
    assert "allow-top-navigation" not in frame["sandbox"]
    assert set(frame["sandbox"].split()) == {
        "allow-scripts",
        "allow-forms",
        "allow-same-origin",
        "allow-popups",
    }
    src = urlsplit(frame["src"])
    assert f"{src.scheme}://{src.netloc}{src.path}" == APP_LAUNCH_URL
    query = parse_qs(src.query)
    assert query["iss"] == [demo.fhir_base]
    launch = launch_of(demo.app, query["launch"][0])
    assert launch == LaunchContext(
        patient=TYLER,
        encounter=TYLER_VISIT,
        practitioner=demo_practitioner_id(),
        need_patient_banner=False,
        smart_style_url=f"{demo.url}/static/smart-style.json",
    )


def test_chart_without_encounter_opens_todays_visit_and_honours_tester_flags(
    demo: LiveSandbox,
) -> None:
    page = requests.get(
        f"{demo.url}/chart/{TYLER}",
        params={"need_patient_banner": "1", "practitioner": "flip-demo-nurse"},
        timeout=5,
    )
    (frame,) = tags(page.text, "iframe")
    launch = launch_of(demo.app, parse_qs(urlsplit(frame["src"]).query)["launch"][0])
    assert launch is not None
    assert launch.encounter == TYLER_VISIT
    assert launch.need_patient_banner is True
    assert launch.practitioner == "flip-demo-nurse"


def test_chart_of_an_unknown_patient_is_a_404_that_says_so(demo: LiveSandbox) -> None:
    page = requests.get(f"{demo.url}/chart/nobody-here", timeout=5)
    assert page.status_code == 404
    assert "No such patient" in page.text and "nobody-here" in page.text
    assert not tags(page.text, "iframe")


def test_portal_starts_a_standalone_launch_without_a_launch_id(demo: LiveSandbox) -> None:
    page = requests.get(f"{demo.url}/portal", timeout=5)
    links = [a["href"] for a in tags(page.text, "a") if a["href"].startswith(APP_LAUNCH_URL)]
    assert len(links) == 1
    query = parse_qs(urlsplit(links[0]).query)
    assert query == {"iss": [demo.fhir_base]}


def test_smart_style_is_served_with_the_spec_properties(demo: LiveSandbox) -> None:
    style = requests.get(f"{demo.url}/static/smart-style.json", timeout=5).json()
    assert {"color_background", "color_text", "color_highlight", "font_family_body"} <= set(style)
    assert style["color_text"].startswith("#")


def test_launches_api_refuses_non_loopback_clients(demo: LiveSandbox) -> None:
    client = demo.app.test_client()
    answer = client.post(
        "/_sandbox/launches", json={"patient": TYLER}, environ_base={"REMOTE_ADDR": "10.0.0.5"}
    )
    assert answer.status_code == 403
    assert "loopback" in answer.get_json()["error"]


def test_launches_api_creates_an_ehr_launch_for_loopback(demo: LiveSandbox) -> None:
    answer = requests.post(
        f"{demo.url}/_sandbox/launches",
        json={"patient": TYLER, "encounter": TYLER_VISIT, "need_patient_banner": True},
        timeout=5,
    )
    assert answer.status_code == 201
    body = answer.json()
    query = parse_qs(urlsplit(body["launch_url"]).query)
    assert query == {"iss": [demo.fhir_base], "launch": [body["launch"]]}
    launch = launch_of(demo.app, body["launch"])
    assert launch is not None
    assert (launch.patient, launch.encounter, launch.need_patient_banner) == (
        TYLER,
        TYLER_VISIT,
        True,
    )
    assert launch.practitioner == demo_practitioner_id()


@pytest.mark.parametrize(
    ("payload", "message"),
    [({}, "'patient'"), ({"patient": "nobody-here"}, "nobody-here")],
)
def test_launches_api_explains_a_missing_or_unknown_patient(
    demo: LiveSandbox, payload: dict[str, str], message: str
) -> None:
    answer = requests.post(f"{demo.url}/_sandbox/launches", json=payload, timeout=5)
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_pages_escape_names_from_the_chart(sandbox: LiveSandbox) -> None:
    hostile = {
        "resourceType": "Patient",
        "id": "hostile",
        "name": [{"family": "<script>alert(1)</script>", "given": ["Bobby"]}],
    }
    stored = requests.put(f"{sandbox.open_fhir_base}/Patient/hostile", json=hostile, timeout=5)
    assert stored.status_code in (200, 201), stored.text
    for path in ("/", "/chart/hostile"):
        page = requests.get(f"{sandbox.url}{path}", timeout=5)
        assert "<script>alert(1)</script>" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
