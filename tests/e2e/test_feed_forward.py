"""The next visit brings back what the last plan left open, on every sandbox profile: from
the CarePlan where the EHR takes one, from Flip's Plan of care note where it does not."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import Visit, family_chart, launch
from tests.e2e.deployment import ACT_CODE, Browser, Deployment
from tests.e2e.test_plan import PLAN, wait_written


def next_visit(ehr: Deployment) -> Visit:
    ehr.seed(
        "Encounter",
        "e-next",
        status="in-progress",
        subject={"reference": "Patient/p1"},
        **{"class": {"system": ACT_CODE, "code": "AMB"}},
    )
    body = {"patient": "p1", "encounter": "e-next", "practitioner": "dr1"}
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
