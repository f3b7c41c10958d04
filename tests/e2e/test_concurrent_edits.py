"""Edits to one visit's draft at once keep every edit, on SQLite as on PostgreSQL."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.e2e.conftest import launch
from tests.e2e.deployment import Deployment

ADDS = 60


def test_concurrent_adds_to_one_draft_keep_every_item(family_visit: Deployment) -> None:
    # The physician and the nurse, adding to the visit's one agenda at the same time.
    visit, nurse = launch(family_visit), launch(family_visit, practitioner="dr2")

    def add(n: int) -> int:
        body = {"text": f"Question {n}", "source": "clinician"}
        return (visit if n % 2 else nurse).send("POST", "/visit/agenda/items", body).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(add, range(ADDS)))
    assert answers == [201] * ADDS
    texts = {i["text"] for i in visit.get()["agenda"]}
    assert {f"Question {n}" for n in range(ADDS)} <= texts


def test_concurrent_status_changes_keep_every_change(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    added = [
        visit.send("POST", "/visit/agenda/items", {"text": f"Item {n}"}).json()["item"]["id"]
        for n in range(12)
    ]

    def address(item_id: str) -> int:
        body = {"statuses": {item_id: {"status": "addressed"}}}
        return visit.send("PUT", "/visit/agenda", body).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        assert list(pool.map(address, added)) == [200] * 12
    statuses = {i["id"]: i["status"] for i in visit.get()["agenda"]}
    assert all(statuses[item_id] == "addressed" for item_id in added)


def test_two_of_the_care_team_keep_their_own_fields_of_the_plan_form(
    family_visit: Deployment,
) -> None:
    # The physician types the goals while the nurse types the follow-up, each page sending
    # the fields it changed: neither replaces the other's.
    visit, nurse = launch(family_visit), launch(family_visit, practitioner="dr2")
    goals = {"goals": [{"text": "Play the whole season"}]}
    follow_up = {"follow_up": "Clinic in 3 months"}
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(
            pool.map(lambda pair: pair[0].send("PUT", "/visit/plan/form", pair[1]),
                     [(visit, goals), (nurse, follow_up)])
        )  # fmt: skip
    assert [a.status_code for a in answers] == [200, 200]
    kept = visit.send("PUT", "/visit/plan/form", {}).json()["plan_form"]
    assert kept == {**goals, **follow_up}
    page = nurse.browser.get(nurse.page.url)
    assert "Play the whole season" in page.text and "Clinic in 3 months" in page.text
