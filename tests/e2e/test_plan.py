"""Finishing a visit over real HTTP: refusals keep the plan, the chart gets it once."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest
import requests
from click.testing import CliRunner

from fhir_mappings.codes import identifier_system
from tests.e2e.conftest import Visit, launch, previsit
from tests.e2e.deployment import ACT_CODE, Browser, Deployment
from tests.mappings.builders import preference_observation

PLAN: dict[str, Any] = {
    "items": [{"text": "Pack the vest for away games", "owner": "Maya", "when": "later"}],
    "goals": [{"text": "Play the whole season"}],
    "partnering_note": {
        "style": "talk-options",
        "learning_preferences": ["written"],
        "text": "Maya leads.",
    },
    "something_else_asked": True,
    "something_else_added": ["Letter for school"],
}


def close_agenda(visit: Visit) -> None:
    agenda = visit.get()["agenda"]
    statuses = {
        i["id"]: {"status": "addressed"} for i in agenda if i["source"] in ("patient", "family")
    }
    assert visit.send("PUT", "/visit/agenda", {"statuses": statuses}).ok


def wait_written(visit: Visit) -> dict[str, Any]:
    for _ in range(100):
        status: dict[str, Any] = visit.send("GET", "/visit/writeback", None).json()
        if status["state"] != "pending":
            return status
        time.sleep(0.2)
    raise AssertionError("write-back still pending")


def flip_resources(ehr: Deployment, resource_type: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{ehr.sandbox.open_fhir_base}/{resource_type}",
        params={"identifier": f"{identifier_system()}|"},
        timeout=10,
    )
    return [e["resource"] for e in answer.json().get("entry", [])]


def test_open_family_items_block_the_plan_and_the_typed_plan_is_kept(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)
    refused = visit.send("POST", "/visit/plan", PLAN)
    assert refused.status_code == 409
    body = refused.json()
    assert body["error"] == "open_items"
    assert {i["text"] for i in body["open_items"]} == {
        "Lacrosse travel without my vest",
        "Sleepovers",
        "Her weight gain this winter",
    }
    page = visit.browser.get(visit.page.url)  # reload: what was typed is still there
    assert "Pack the vest for away games" in page.text
    assert "Maya leads." in page.text


def test_a_finished_plan_is_written_once_and_the_status_says_so(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    close_agenda(visit)
    accepted = visit.send("POST", "/visit/plan", PLAN)
    assert accepted.status_code == 202, accepted.text
    # The EHR answers quickly: Finish answers with "Saved", the page need not poll.
    assert accepted.json()["state"] == "written", accepted.json()
    assert accepted.json()["confirmation"].startswith("Saved to the chart at ")
    again = visit.send("POST", "/visit/plan", PLAN)  # a double click
    assert again.status_code == 202
    status = wait_written(visit)
    assert status["state"] == "written"
    written = {r["resource_type"]: r for r in status["resources"] if r["status"] == "written"}
    assert {"CarePlan", "Goal", "DocumentReference"} <= set(written)
    assert written["CarePlan"]["id"]
    assert len(flip_resources(family_visit, "CarePlan")) == 1
    assert len(flip_resources(family_visit, "Goal")) == 1


def test_finishing_while_the_ehr_is_down_is_queued_and_written_once_it_answers(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)
    close_agenda(visit)
    merged = visit.get()["agenda"]  # the page's read of the chart, kept for the launch
    assert merged
    # The EHR answers 503 to everything: Finish reuses the launch's last chart read.
    family_visit.fault(status=503, count=None, path_prefix="/fhir", methods=["GET", "POST"])
    accepted = visit.send("POST", "/visit/plan", PLAN)
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["state"] == "pending"
    assert flip_resources(family_visit, "CarePlan") == []
    cleared = requests.delete(f"{family_visit.sandbox.url}/_sandbox/faults", timeout=10)
    assert cleared.ok
    status = wait_written(visit)
    assert status["state"] == "written"
    [plan] = flip_resources(family_visit, "CarePlan")
    assert "Pack the vest for away games" in str(plan)


def test_the_next_visits_plan_replaces_the_last_so_one_flip_plan_is_active(
    family_visit: Deployment,
) -> None:
    first = launch(family_visit)
    close_agenda(first)
    assert first.send("POST", "/visit/plan", PLAN).status_code == 202
    assert wait_written(first)["state"] == "written"
    family_visit.seed(
        "Encounter",
        "e-next",
        status="in-progress",
        subject={"reference": "Patient/p1"},
        **{"class": {"system": ACT_CODE, "code": "AMB"}},
    )
    browser = Browser()
    made = requests.post(
        f"{family_visit.sandbox.url}/_sandbox/launches",
        json={"patient": "p1", "encounter": "e-next", "practitioner": "dr1"},
        timeout=10,
    )
    second = Visit(family_visit, browser, browser.launch(made.json()["launch_url"]))
    close_agenda(second)
    later = {**PLAN, "items": [{"text": "Bring the vest log", "owner": "Maya", "when": "later"}]}
    assert second.send("POST", "/visit/plan", later).status_code == 202
    assert wait_written(second)["state"] == "written"
    plans = {p["id"]: p for p in flip_resources(family_visit, "CarePlan")}
    active = [p for p in plans.values() if p["status"] == "active"]
    assert len(active) == 1 and "Bring the vest log" in str(active[0])
    [old] = [p for p in plans.values() if p["status"] != "active"]
    assert old["status"] == "completed"
    assert active[0]["replaces"] == [{"reference": f"CarePlan/{old['id']}"}]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items": [], "goals": [], "partnering_note": None}, "The plan is empty"),
        ({"goals": [{"text": "x" * 1001}]}, "the limit is 1000"),
    ],
)
def test_bad_plans_get_a_clear_message_and_nothing_is_written(
    family_visit: Deployment, change: dict[str, Any], message: str
) -> None:
    visit = launch(family_visit)
    close_agenda(visit)
    answer = visit.send("POST", "/visit/plan", {**PLAN, **change})
    assert answer.status_code == 400
    assert message in answer.json()["message"]
    assert flip_resources(family_visit, "CarePlan") == []
    assert visit.send("GET", "/visit/writeback", None).status_code == 404


def test_script_in_the_plan_is_written_as_text_and_shown_escaped(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    close_agenda(visit)
    script = "<script>alert(1)</script>"
    plan = {**PLAN, "goals": [{"text": script}]}
    assert visit.send("POST", "/visit/plan", plan).status_code == 202
    wait_written(visit)
    goal = flip_resources(family_visit, "Goal")[0]
    assert goal["description"]["text"] == script
    careplan = flip_resources(family_visit, "CarePlan")[0]
    assert script not in careplan["text"]["div"]
    page = visit.browser.get(visit.page.url)
    assert script not in page.text


def test_the_partnering_notes_view_lists_notes_newest_first(family_visit: Deployment) -> None:
    recorded_before = preference_observation("o-nurse", "Prefers morning visits", 40)
    family_visit.put({**recorded_before, "subject": {"reference": "Patient/p1"}})
    visit = launch(family_visit)
    close_agenda(visit)
    assert visit.send("POST", "/visit/plan", PLAN).status_code == 202
    wait_written(visit)
    page = visit.browser.get(visit.page.url.replace("/visit", "/partnering"))
    assert page.status_code == 200
    assert page.text.count("Maya leads.") == 1  # the note, not again as its Observation
    assert page.text.index("Maya leads.") < page.text.index("Prefers morning visits")


def test_every_read_and_write_is_in_the_audit_trail(family_visit: Deployment) -> None:
    from flip_cli import main

    visit = launch(family_visit)
    close_agenda(visit)
    visit.send("POST", "/visit/plan", PLAN)
    wait_written(visit)
    settings = family_visit.flip.config["FLIP_SETTINGS"]
    result = CliRunner().invoke(
        main,
        ["audit", "--patient", "p1"],
        env={
            "FLIP_ENV": "testing",
            "FLIP_DATABASE_URL": settings.database_url,
            "FLIP_REGISTRATIONS_FILE": str(family_visit.registrations_file),
        },
    )
    assert result.exit_code == 0, result.output
    assert "Practitioner/dr1  read-visit" in result.output
    assert "submit-plan" in result.output
    assert "CarePlan/" in result.output  # the write, with the id the chart gave it
    assert "Lacrosse" not in result.output  # ids only, no PHI


def test_new_answers_mid_visit_keep_the_status_and_say_the_words_changed(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)
    concern = next(i for i in visit.get()["agenda"] if i["text"].startswith("Lacrosse"))
    deferral = {concern["id"]: {"status": "deferred", "reason": "after the labs"}}
    assert visit.send("PUT", "/visit/agenda", {"statuses": deferral}).ok
    # Maya sends her answers again from the portal: a new response with other words.
    family_visit.put(
        previsit("qr-teen-2", "Patient/p1", "Lacrosse and the spring tournament", days_ago=1)
    )
    page = visit.browser.get(visit.page.url)
    line = re.search(r'<li class="agenda-item[^>]*data-id="pv-qr-teen-2-number-one".*?</li>',
                     page.text, re.S)  # fmt: skip
    assert line is not None
    assert 'data-status="deferred"' in line.group(0)
    assert 'value="after the labs"' in line.group(0)  # the reason typed is not lost
    said = html.unescape(line.group(0))
    assert "Maya sent new words after this was marked deferred." in said
    assert "It was: “Lacrosse travel without my vest”" in said
