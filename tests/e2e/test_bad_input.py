"""Odd input to the visit's API gets a clear 400 or 413 and breaks nothing later."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from ehr_sandbox.fhir.store import ResourceRecord
from launch.registrations import DEFAULT_SCOPE
from smart_app.visit.agenda import MAX_OTHER_CONCERNS
from tests.conftest import sandbox_state
from tests.e2e.conftest import Visit, family_chart, launch, previsit
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


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        (
            "PUT",
            "/visit/agenda",
            {"statuses": {"x": {"status": ["addressed"]}}},
            "statuses.x.status:",
        ),
        (
            "PUT",
            "/visit/agenda",
            {"statuses": {"x": {"status": "open", "reason": None}}},
            "x.reason:",
        ),
        ("POST", "/visit/agenda/items", {"text": "x", "source": ["clinician"]}, "source: ['clin"),
        ("POST", "/visit/agenda/split", {"item": {}}, "item: {} is not of type string"),
        ("POST", "/visit/agenda/merge", {"item": "a", "into": None}, "into: None is not of type"),
        (
            "POST",
            "/visit/plan",
            {**PLAN, "partnering_note": {"learning_preferences": [{}]}},
            "partnering_note.learning_preferences.0: {} is not of type string",
        ),
        ("POST", "/visit/plan", {**PLAN, "goals": "Play"}, "goals: 'Play' is not of type array"),
        ("PUT", "/visit/reflection", {"notes": ["x"], "mood": "ok"}, "the body: has unexpected"),
    ],
)
def test_a_malformed_body_is_a_400_naming_the_field_and_stores_nothing(
    family_visit: Deployment, method: str, path: str, body: Any, message: str
) -> None:
    visit = launch(family_visit)
    answer = visit.send(method, path, body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "invalid_request"
    assert message in answer.json()["message"]
    assert visit.get()["draft"]["version"] == 0  # nothing of it was kept
    assert visit.browser.get(visit.page.url).status_code == 200


def test_a_draft_keeps_at_most_100_added_items_of_2000_characters(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)
    for n in range(100):
        added = visit.send("POST", "/visit/agenda/items", {"text": f"{n} " + "x" * 1995})
        assert added.status_code == 201, added.text
    saved = visit.get()["draft"]["version"]
    one_more = visit.send("POST", "/visit/agenda/items", {"text": "Sleepover forms"})
    assert one_more.status_code == 400
    assert "already has 100 added items" in one_more.json()["message"]
    visit = launch(family_visit)
    too_long = visit.send("POST", "/visit/agenda/items", {"text": "x" * 2001})
    assert too_long.status_code == 400
    assert "text: is 2001 characters; the limit is 2000" in too_long.json()["message"]
    after = visit.get()
    assert after["draft"]["version"] == saved  # neither was stored
    assert len([i for i in after["agenda"] if i["origin"] == "added"]) == 100


def test_bodies_up_to_1_mb_are_read_and_larger_ones_are_a_413_that_says_so(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)

    def post(text_size: int) -> requests.Response:
        return visit.browser.http.post(
            f"{visit.api}/visit/agenda/items",
            data=json.dumps({"text": "x" * text_size}),
            headers={**visit.headers, "Content-Type": "application/json"},
            timeout=30,
        )

    read = post(1_000_000)  # under 1 MB: read, and refused for what it says
    assert read.status_code == 400
    assert "text: is 1000000 characters" in read.json()["message"]
    refused = post(1_100_000)
    assert refused.status_code == 413
    assert refused.json()["message"] == (
        "The request is larger than Flip accepts (1 MB); nothing of it was saved."
    )
    assert visit.get()["draft"]["version"] == 0


def test_a_refused_read_is_named_not_shown_as_empty(database_url: str, tmp_path: Path) -> None:
    answers = ("patient/QuestionnaireResponse.crus", "user/QuestionnaireResponse.rs")
    scope = " ".join(s for s in DEFAULT_SCOPE.split() if s not in answers)
    with family_chart(database_url, tmp_path, scope=scope) as ehr:
        visit = launch(ehr)
        assert visit.get()["not_readable"] == ["pre-visit answers"]
        refusal = re.search(r"<p[^>]*data-refused>(.*?)</p>", visit.page.text, re.S)
        assert refusal is not None and "pre-visit answers" in refusal.group(1)
        assert "Lacrosse" not in visit.page.text  # unknown, and said so: not "no answers"


def test_a_5000_item_answer_opens_a_normal_visit_with_n_more(family_visit: Deployment) -> None:
    concerns = [f"concern number {n}" for n in range(5000)]
    family_visit.put(previsit("qr-huge", "Patient/p1", "Lacrosse travel", *concerns, days_ago=1))
    visit = launch(family_visit)
    own = [i for i in visit.get()["agenda"] if i["source"] == "patient"]
    assert [i["text"] for i in own] == ["Lacrosse travel", *concerns[:MAX_OTHER_CONCERNS]]
    more = re.search(r"<p[^>]*data-more-concerns>(.*?)</p>", visit.page.text, re.S)
    assert more is not None and f"{5000 - MAX_OTHER_CONCERNS:,} more concerns" in more.group(1)
    assert "data-merge" in visit.page.text  # a clinician item can still join the teen's
    assert len(visit.page.text) < 200_000  # not 5,000 lines, each listing every other


def store_as_is(ehr: Deployment, resource: dict[str, Any]) -> None:
    """Put a resource in the sandbox's store without its validation, as an EHR may hold
    data that R4 rejects strictly."""
    with sandbox_state(ehr.sandbox.app).db.session() as session:
        session.merge(
            ResourceRecord(
                resource_type=resource["resourceType"],
                id=resource["id"],
                version_id=1,
                last_updated=datetime.now(UTC),
                patient_id="p1",
                content=resource,
            )
        )


def test_strictly_invalid_resources_are_left_out_and_the_page_says_so(
    family_visit: Deployment,
) -> None:
    broken = previsit("qr-broken", "RelatedPerson/rp-mom", "Lost words", days_ago=1)
    broken["item"] = [{"answer": [{"valueString": "an item without a linkId"}]}]
    store_as_is(family_visit, broken)
    other = previsit("qr-other", "Patient/p1", "A survey")
    other["questionnaire"] = "https://survey.example.org/Questionnaire/phq-9"
    family_visit.put(other)  # valid, and simply not Flip's: not "could not be read"
    visit = launch(family_visit)
    assert visit.get()["skipped"] == 1
    note = re.search(r"<p[^>]*data-skipped>(.*?)</p>", visit.page.text, re.S)
    assert note is not None and "1 item from the chart could not be read" in note.group(1)
    assert "Lacrosse travel without my vest" in visit.page.text  # the rest is all there


def test_a_strictly_invalid_patient_still_opens_the_visit(family_visit: Deployment) -> None:
    store_as_is(
        family_visit,
        {"resourceType": "Patient", "id": "p1", "name": [{"given": ["Maya"], "family": "Jones"}],
         "gender": "robot", "extension": [{"valueString": "an extension without url"}]},
    )  # fmt: skip
    visit = launch(family_visit)
    assert visit.get()["patient"]["name"] == "Maya Jones"
    assert "Lacrosse travel without my vest" in visit.page.text
