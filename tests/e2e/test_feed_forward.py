"""The next visit brings back what the last plan left open, on every sandbox profile: from
the CarePlan where the EHR takes one, from Flip's Plan of care note where it does not."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Visit, family_chart, launch
from tests.e2e.deployment import ACT_CODE, Browser, Deployment
from tests.e2e.test_plan import PLAN, close_agenda, flip_resources, wait_written


def next_visit(ehr: Deployment, encounter: str = "e-next") -> Visit:
    ehr.seed(
        "Encounter",
        encounter,
        status="in-progress",
        subject={"reference": "Patient/p1"},
        **{"class": {"system": ACT_CODE, "code": "AMB"}},
    )
    body = {"patient": "p1", "encounter": encounter, "practitioner": "dr1"}
    made = requests.post(f"{ehr.sandbox.url}/_sandbox/launches", json=body, timeout=10)
    browser = Browser()
    return Visit(ehr, browser, browser.launch(made.json()["launch_url"]))


@pytest.mark.parametrize("profile", ["open", "epic-like", "oracle-like"])
def test_the_next_visit_brings_back_later_deferred_and_goals_once(
    database_url: str, tmp_path: Path, profile: str
) -> None:
    with family_chart(database_url, tmp_path, profile=profile) as ehr:
        visit = launch(ehr)
        statuses = {}
        for item in visit.get()["agenda"]:
            if item["source"] == "family":
                statuses[item["id"]] = {"status": "deferred", "reason": "after the labs"}
            elif item["source"] == "patient":
                statuses[item["id"]] = {"status": "addressed"}
        assert visit.send("PUT", "/visit/agenda", {"statuses": statuses}).ok
        assert visit.send("POST", "/visit/plan", PLAN).status_code == 202
        assert wait_written(visit)["state"] == "written"

        agenda = next_visit(ehr).get()["agenda"]
        shown = [*agenda, *(m for i in agenda for m in i["merged"])]  # merged: same topic
        back = [(i["text"], i["origin"]) for i in shown if i["origin"].startswith("last-plan")]
        assert sorted(back) == [
            ("Her weight gain this winter (deferred: after the labs)", "last-plan-deferred"),
            ("Pack the vest for away games", "last-plan-activity"),
            ("Play the whole season", "last-plan-goal"),
        ]


def test_a_goal_achieved_in_the_visit_is_closed_in_the_chart(family_visit: Deployment) -> None:
    first = launch(family_visit)
    close_agenda(first)
    assert first.send("POST", "/visit/plan", PLAN).status_code == 202
    assert wait_written(first)["state"] == "written"

    second = next_visit(family_visit)
    [goal] = [i for i in second.get()["agenda"] if i["origin"] == "last-plan-goal"]
    assert "Goals from the last plan" in second.page.text
    close_agenda(second)
    closing = {
        **PLAN,
        "goals": [],
        "closed_goals": [
            {"goal": goal["reference"], "outcome": "achieved"},
            {"goal": "Goal/not-read-in-this-visit", "outcome": "cancelled"},  # ignored
        ],
    }
    assert second.send("POST", "/visit/plan", closing).status_code == 202
    assert wait_written(second)["state"] == "written"
    [closed] = [g for g in flip_resources(family_visit, "Goal") if g["id"] == goal["reference"][5:]]
    assert closed["lifecycleStatus"] == "completed"
    assert closed["achievementStatus"]["coding"][0]["code"] == "achieved"
    third = next_visit(family_visit, "e-third")
    assert [i for i in third.get()["agenda"] if i["origin"] == "last-plan-goal"] == []
