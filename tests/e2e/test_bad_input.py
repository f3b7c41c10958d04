"""Odd input to the visit's API gets a clear 400 or 413 and breaks nothing later."""

from __future__ import annotations

import json

from tests.e2e.conftest import Visit, launch, previsit
from tests.e2e.deployment import Browser, Deployment
from tests.e2e.test_plan import PLAN, wait_written


def test_a_lone_surrogate_is_refused_and_the_visit_keeps_working(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)
    for method, path, body in [
        ("POST", "/visit/agenda/items", {"text": "vest \ud800 travel"}),
        ("POST", "/visit/plan", {**PLAN, "follow_up": "\udfff"}),
        ("PUT", "/visit/reflection", {"notes": "\ud83d"}),
        ("PUT", "/visit/agenda", {"order": [], "\ud800": 1}),
    ]:
        answer = visit.send(method, path, body)
        assert answer.status_code == 400, (path, answer.text)
        assert "Unicode" in answer.json()["message"]
    assert visit.browser.get(visit.page.url).status_code == 200
    relaunched = launch(family_visit)  # every later launch of the visit still opens
    assert relaunched.page.status_code == 200
    assert relaunched.get()["agenda"]


def test_deep_nesting_and_huge_bodies_are_refused_plainly(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    deep = visit.browser.http.post(
        f"{visit.api}/visit/agenda/items",
        data="[" * 100_000 + "]" * 100_000,
        headers={**visit.headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert deep.status_code == 400
    assert "nests deeper" in deep.json()["message"]
    nested: object = "x"
    for _ in range(40):
        nested = [nested]
    assert visit.send("PUT", "/visit/agenda", {"order": nested}).status_code == 400
    huge = visit.browser.http.post(
        f"{visit.api}/visit/agenda/items",
        data=json.dumps({"text": "x" * 2_000_000}),
        headers={**visit.headers, "Content-Type": "application/json"},
        timeout=30,
    )
    assert huge.status_code == 413
    assert "Traceback" not in huge.text
    assert visit.browser.get(visit.page.url).status_code == 200


def test_fhir_ids_with_dots_can_be_closed_and_finished(family_visit: Deployment) -> None:
    family_visit.put(previsit("qr.teen.v2", "Patient/p1", "Asthma camp this summer", days_ago=1))
    visit = launch(family_visit)
    agenda = visit.get()["agenda"]
    dotted = [i for i in agenda if "." in i["id"]]
    assert dotted, [i["id"] for i in agenda]
    statuses = {
        i["id"]: {"status": "addressed"} for i in agenda if i["source"] in ("patient", "family")
    }
    assert visit.send("PUT", "/visit/agenda", {"statuses": statuses}).status_code == 200
    assert all(i["status"] == "addressed" for i in visit.get()["agenda"] if i["id"] in statuses)
    assert visit.send("POST", "/visit/plan", PLAN).status_code == 202
    assert wait_written(visit)["state"] == "written"


def test_a_partial_birth_date_opens_the_visit_at_its_precision(family_visit: Deployment) -> None:
    family_visit.seed(
        "Patient",
        "p1",
        name=[{"given": ["Maya"], "family": "Jones"}],
        birthDate="2010-02",  # valid FHIR: the month is known, the day is not
    )
    browser = Browser()
    url = family_visit.ehr_launch_url("p1", "e-agenda", need_patient_banner=True)
    visit = Visit(family_visit, browser, browser.launch(url))
    assert "born 2010-02" in visit.page.text  # the banner, where the crash was
    assert visit.get()["patient"]["birth_date"] == "2010-02"
