"""Finishing again after an edit, through the visit API on each sandbox profile: the chart
holds the edited version once, and the page says "Updated in the chart" only when it is."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.conftest import family_chart, launch
from tests.e2e.test_ehr_write_rules import PLAN_OF_CARE_NOTE, _loinc_type
from tests.e2e.test_plan import PLAN, close_agenda, flip_resources, wait_written


def edited_plan() -> dict[str, Any]:
    plan = copy.deepcopy(PLAN)
    plan["goals"] = [{"text": "Play every home game"}]
    plan["items"][0]["text"] = "Pack the vest and the enzymes for away games"
    return plan


@pytest.mark.parametrize("profile", ["open", "epic-like", "oracle-like"])
def test_an_edited_plan_reaches_the_chart_once_on_every_profile(
    database_url: str, tmp_path: Path, profile: str
) -> None:
    with family_chart(database_url, tmp_path, profile=profile) as ehr:
        visit = launch(ehr)
        close_agenda(visit)
        assert visit.send("POST", "/visit/plan", PLAN).status_code == 202
        first = wait_written(visit)
        assert first["message"].startswith("Saved to the chart.")
        again = visit.send("POST", "/visit/plan", edited_plan())
        assert again.status_code == 202
        assert again.json()["version"] == 2
        status = wait_written(visit)
        assert status["state"] == "written", status
        assert status["message"].startswith("Updated in the chart.")
        assert [h["version"] for h in status["history"]] == [1]
        # "What was sent" says what became of each, the unchanged ones' Provenance too.
        waiting = [r for r in status["resources"] if r["status"] == "pending"]
        assert waiting == [], waiting
        notes = flip_resources(ehr, "DocumentReference")
        current = [n for n in notes if n["status"] == "current"]
        if profile == "open":
            # CarePlan and Goal updated in place: one of each, with the edit.
            (careplan,) = flip_resources(ehr, "CarePlan")
            assert "Pack the vest and the enzymes" in str(careplan["activity"])
            (goal,) = flip_resources(ehr, "Goal")
            assert goal["description"]["text"] == "Play every home game"
            assert len(notes) == 1  # the partnering note did not change
        else:
            # The plan is a note: a new Plan of care note replaces the first.
            plans = [n for n in notes if PLAN_OF_CARE_NOTE in _loinc_type(n)]
            assert len(plans) == 2
            (new,) = [n for n in plans if n.get("relatesTo")]
            (old,) = [n for n in plans if not n.get("relatesTo")]
            assert new["relatesTo"][0]["target"]["reference"] == f"DocumentReference/{old['id']}"
            # Oracle Health updates DocumentReference, so the old one is superseded;
            # Epic takes no update, so it stays, pointed at by its replacement.
            assert old["status"] == ("superseded" if profile == "oracle-like" else "current")
            assert len(current) == (2 if profile == "oracle-like" else 3)
        # Reloading the page keeps saying so, with the history.
        page = visit.browser.get(visit.page.url).text
        assert "Updated in the chart at " in page  # when, in the clinic's time


def test_a_plan_changed_after_it_was_saved_says_so_until_it_is_sent(
    database_url: str, tmp_path: Path
) -> None:
    with family_chart(database_url, tmp_path) as ehr:
        visit = launch(ehr)
        close_agenda(visit)

        def unsent_shown() -> bool:
            page = visit.browser.get(visit.page.url).text
            assert "data-plan-unsent" in page
            return "data-plan-unsent hidden" not in page

        assert visit.send("PUT", "/visit/plan/form", PLAN).status_code == 200
        assert not unsent_shown()  # typed, never finished: nothing is in the chart yet
        assert visit.send("POST", "/visit/plan", PLAN).status_code == 202
        wait_written(visit)
        assert not unsent_shown()
        # An edit after it was saved: kept, not in the chart, and the page says so.
        assert visit.send("PUT", "/visit/plan/form", edited_plan()).status_code == 200
        assert unsent_shown()
        assert "Pack the vest and the enzymes" not in str(flip_resources(ehr, "CarePlan"))
        assert visit.send("POST", "/visit/plan", edited_plan()).status_code == 202
        wait_written(visit)
        assert not unsent_shown()
        assert "Pack the vest and the enzymes" in str(flip_resources(ehr, "CarePlan"))


def test_a_plan_refused_with_a_4xx_is_resent_when_finished_again(
    database_url: str, tmp_path: Path
) -> None:
    # Epic-like: the plan goes as notes, one request each; the chart refuses them first.
    with family_chart(database_url, tmp_path, profile="epic-like") as ehr:
        visit = launch(ehr)
        close_agenda(visit)
        refused = {"methods": ["POST"], "path_prefix": "/fhir/DocumentReference"}
        ehr.fault(status=422, count=20, **refused)
        assert visit.send("POST", "/visit/plan", PLAN).status_code == 202
        assert wait_written(visit)["state"] == "failed"
        assert flip_resources(ehr, "DocumentReference") == []
        requests.delete(f"{ehr.sandbox.url}/_sandbox/faults", timeout=10)  # the EHR is fixed
        assert visit.send("POST", "/visit/plan", edited_plan()).status_code == 202
        status = wait_written(visit)
        assert status["state"] == "written", status
        notes = flip_resources(ehr, "DocumentReference")
        assert len(notes) == 2  # the plan note and the partnering note, once each
        words = [base64.b64decode(n["content"][0]["attachment"]["data"]).decode() for n in notes]
        assert sum("Pack the vest and the enzymes" in w for w in words) == 1  # the edit


def test_a_finished_visit_reopened_never_shows_its_own_plan_as_the_last_plan(
    database_url: str, tmp_path: Path
) -> None:
    with family_chart(database_url, tmp_path) as ehr:
        visit = launch(ehr)
        close_agenda(visit)
        assert visit.send("POST", "/visit/plan", PLAN).status_code == 202
        assert wait_written(visit)["state"] == "written"
        reopened = launch(ehr).get()  # the same visit, opened again from the chart
        origins = {item["origin"] for item in reopened["agenda"]}
        assert not {o for o in origins if o.startswith("last-plan")}, reopened["agenda"]
        assert "Play the whole season" not in str(reopened["agenda"])
