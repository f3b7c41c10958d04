"""Finishing again after an edit: the chart gets the edited version, once, against the
sandbox over real HTTP. CarePlan and Goal are updated in place (If-Match); notes are
replaced by a new one that points at the old; what did not change is left alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fhir_mappings.plan_model import AgreedPlan, PartneringNote, PlanGoal
from smart_app.closing.amending import CHANGED_MEANWHILE
from smart_app.closing.outbox import OutboxService
from tests.outbox.conftest import Chart, maya_plan
from tests.outbox.test_random_faults import drive


def edited(plan: AgreedPlan, *, goal: str, note: str | None = None) -> AgreedPlan:
    """The plan as the clinician changed it a minute later."""
    partnering = plan.partnering_note
    if note is not None and partnering is not None:
        partnering = replace(partnering, text=note)
    return replace(
        plan,
        goals=(PlanGoal(goal),),
        partnering_note=partnering,
        finished_at=plan.finished_at + timedelta(minutes=1),
    )


def written(outbox: OutboxService, chart: Chart, plan: AgreedPlan) -> dict[str, Any]:
    outbox.submit(chart.opened, plan)
    status = drive(outbox, plan.plan_id)
    assert status.state == "written", status
    return {r.key: r for r in status.resources}


def flip_notes(chart: Chart) -> list[dict[str, Any]]:
    return chart.search("DocumentReference", [("patient", "p1")])


def test_an_edited_plan_updates_the_chart_in_place_and_says_so(chart: Chart) -> None:
    outbox = chart.outbox()
    plan = maya_plan("plan-amend")
    first = written(outbox, chart, plan)
    again = outbox.submit(chart.opened, replace(plan, finished_at=plan.finished_at))
    assert again.version == 1  # the same plan twice: no new version

    change = edited(plan, goal="Play every home game", note="Maya leads; mom drives.")
    queued = outbox.submit(chart.opened, change)
    assert queued.state == "pending" and queued.version == 2
    status = drive(outbox, plan.plan_id)
    assert status.state == "written", status
    assert status.message == "Updated in the chart."
    by_key = {r.key: r for r in status.resources}
    # The CarePlan and the Goal: the same resources, updated.
    assert by_key["goal-0"].id == first["goal-0"].id and by_key["goal-0"].action == "updated"
    assert by_key["careplan"].id == first["careplan"].id
    (goal,) = chart.search("Goal", [("patient", "p1")])
    assert goal["description"]["text"] == "Play every home game"
    assert goal["meta"]["versionId"] == "2"
    assert len(chart.search("CarePlan", [("patient", "p1")])) == 1
    # The partnering note: a new note that replaces the old, which is superseded.
    notes = {n["id"]: n for n in flip_notes(chart)}
    new = notes[by_key["partnering-note"].id.split("/")[1]]
    old = notes[first["partnering-note"].id.split("/")[1]]
    assert by_key["partnering-note"].action == "replaced"
    assert new["relatesTo"] == [
        {"code": "replaces", "target": {"reference": first["partnering-note"].id}}
    ]
    assert old["status"] == "superseded" and new["status"] == "current"
    # Each changed resource gets its own Provenance; the history lists version 1.
    assert chart.provenances(first["goal-0"].id) == 2
    assert [h["version"] for h in status.history] == [1]
    assert status.history[0]["state"] == "written"


def test_what_did_not_change_is_not_written_again(chart: Chart) -> None:
    outbox = chart.outbox()
    plan = maya_plan("plan-same-note")
    first = written(outbox, chart, plan)
    status_by_key = written(outbox, chart, edited(plan, goal="Play every home game"))
    assert status_by_key["partnering-note"].action == "unchanged"
    assert status_by_key["partnering-note"].id == first["partnering-note"].id
    assert len(flip_notes(chart)) == 1
    assert chart.provenances(first["partnering-note"].id) == 1


def test_an_edit_made_while_the_first_version_is_on_its_way_waits_and_is_written(
    chart: Chart,
) -> None:
    outbox = chart.outbox()
    plan = maya_plan("plan-in-flight")
    outbox.submit(chart.opened, plan)
    change = edited(plan, goal="Play every home game")
    waiting = outbox.submit(chart.opened, change)  # before any attempt
    assert waiting.queued and waiting.version == 1
    assert "goes to the chart once this version is in" in (waiting.message or "")
    assert drive(outbox, plan.plan_id).state == "written"  # version 1 ...
    final = drive(outbox, plan.plan_id)  # ... then the edit
    assert final.version == 2 and final.state == "written" and not final.queued
    (goal,) = chart.search("Goal", [("patient", "p1")])
    assert goal["description"]["text"] == "Play every home game"


def test_a_goal_changed_in_the_chart_meanwhile_is_read_again_and_the_edit_said(
    chart: Chart,
) -> None:
    outbox = chart.outbox()
    plan = maya_plan("plan-412")
    first = written(outbox, chart, plan)
    goal_id = first["goal-0"].id.split("/")[1]
    # Someone edits the Goal in the chart between Flip's read and its write.
    chart.ehr.fault(status=412, count=1, methods=["PUT"], path_prefix=f"/fhir/Goal/{goal_id}")
    by_key = written(outbox, chart, edited(plan, goal="Play every home game"))
    assert by_key["goal-0"].message == CHANGED_MEANWHILE
    (goal,) = chart.search("Goal", [("patient", "p1")])
    assert goal["description"]["text"] == "Play every home game"


@pytest.mark.parametrize("fault", [503, 429])
def test_an_amendment_survives_a_flaky_chart_and_writes_each_version_once(
    chart: Chart, fault: int
) -> None:
    outbox = chart.outbox()
    plan = maya_plan(f"plan-flaky-{fault}")
    written(outbox, chart, plan)
    chart.ehr.fault(status=fault, count=3, methods=["POST", "PUT"], path_prefix="/fhir")
    by_key = written(outbox, chart, edited(plan, goal="Play every home game", note="New."))
    notes = flip_notes(chart)
    assert len(notes) == 2  # the first note and its replacement, no more
    assert {n["status"] for n in notes} == {"current", "superseded"}
    assert by_key["partnering-note"].action == "replaced"


def test_a_note_without_partnering_words_is_unchanged_when_only_the_goal_changes(
    chart: Chart,
) -> None:
    outbox = chart.outbox()
    plan = replace(
        maya_plan("plan-note-kept"),
        partnering_note=PartneringNote(style="talk-options", learning_preferences=(), text=None),
    )
    written(outbox, chart, plan)
    written(outbox, chart, edited(plan, goal="A new goal"))
    assert len(flip_notes(chart)) == 1


def test_a_goal_taken_out_of_the_plan_is_cancelled_in_the_chart_and_said(chart: Chart) -> None:
    outbox = chart.outbox()
    plan = replace(maya_plan("plan-goal-out"), goals=(PlanGoal("Play the whole season"),))
    first = written(outbox, chart, plan)
    fewer = replace(plan, goals=(), finished_at=plan.finished_at + timedelta(minutes=1))
    outbox.submit(chart.opened, fewer)
    status = drive(outbox, plan.plan_id)
    assert status.state == "written", status
    by_key = {r.key: r for r in status.resources}
    assert by_key["goal-0"].action == "cancelled" and by_key["goal-0"].id == first["goal-0"].id
    (goal,) = chart.search("Goal", [("patient", "p1")])
    assert goal["lifecycleStatus"] == "cancelled"
    assert "goal" not in (status.confirmation(ZoneInfo("UTC")) or "")  # the plan, no goals
