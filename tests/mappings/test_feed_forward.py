"""What the next visit reads back of a plan Flip wrote: as CarePlan + Goals, or as a
Plan of care note where the EHR takes no CarePlan (Epic, Oracle Health)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from fhir_mappings.plan_model import PlanItem
from fhir_mappings.writeback import (
    WriteOptions,
    plan_writes,
    resolve_references,
    written_resource_ref,
)
from tests.mappings.builders import PATIENT_ID, VISIT_START, read, related_person, response
from tests.mappings.test_writeback import agreed_plan

CAREPLAN = WriteOptions()
AS_A_NOTE = WriteOptions(plan_as_careplan=False)


def stored(options: WriteOptions = CAREPLAN, **changes: Any) -> dict[str, list[Any]]:
    """The plan's resources as a server keeps them: ids given, references resolved."""
    server: dict[str, list[dict[str, Any]]] = {}
    written: dict[str, str] = {}
    for number, write in enumerate(plan_writes(agreed_plan(**changes), options)):
        resource = resolve_references(write.resource, written) | {"id": f"id-{number}"}
        written[write.full_url] = written_resource_ref(write, f"id-{number}")
        server.setdefault(write.resource_type, []).append(resource)
    return server


def test_next_visit_reads_back_open_items_goals_and_the_partnering_note() -> None:
    plan = agreed_plan()
    server = stored()

    visit = read(
        care_plans=server["CarePlan"],
        goals=server["Goal"],
        document_references=server["DocumentReference"],
        observations=server["Observation"],
    )

    # "Now" was done in the visit: it does not come back. "Later" does, and the deferred
    # item with its reason, and the goals.
    assert [(i.text, i.origin) for i in visit.clinician_items] == [
        ("Ask about insurance after 26", "last-plan-activity"),
        ("Home monitoring data (deferred: needs the device report)", "last-plan-deferred"),
        ("Play the whole lacrosse season", "last-plan-goal"),
        ("Stay on my own plan at 26", "last-plan-goal"),
    ]
    assert visit.preference is not None
    assert visit.preference.source == "note"
    # The note reads back as its parts, in their words: never the whole note on one line.
    note = plan.partnering_note
    assert note is not None and note.text is not None
    assert visit.preference.style == note.style
    assert visit.preference.learning_preferences == note.learning_preferences
    assert visit.preference.text == note.text.strip()
    assert visit.skipped == 0


def test_a_plan_written_as_a_note_feeds_forward_the_same_items() -> None:
    server = stored(AS_A_NOTE)
    assert "CarePlan" not in server and "Goal" not in server
    visit = read(document_references=server["DocumentReference"])
    assert [(i.text, i.origin) for i in visit.clinician_items] == [
        ("Ask about insurance after 26", "last-plan-activity"),
        ("Home monitoring data (deferred: needs the device report)", "last-plan-deferred"),
        ("Play the whole lacrosse season", "last-plan-goal"),
        ("Stay on my own plan at 26", "last-plan-goal"),
    ]
    assert {i.reference.split("/")[0] for i in visit.clinician_items} == {"DocumentReference"}


def test_a_deferred_line_also_agreed_to_do_after_comes_back_once_either_way() -> None:
    item = PlanItem("Home monitoring data", "mom", "later", None)
    as_careplan = stored(items=(item,))
    as_note = stored(AS_A_NOTE, items=(item,))
    for visit in (
        read(care_plans=as_careplan["CarePlan"]),
        read(document_references=as_note["DocumentReference"]),
    ):
        back = [i.text for i in visit.clinician_items if "Home monitoring" in i.text]
        assert back == ["Home monitoring data (deferred: needs the device report)"]


def test_a_reopened_visit_never_reads_its_own_plan_note() -> None:
    server = stored(AS_A_NOTE)
    visit = read(document_references=server["DocumentReference"], own_plan_id="plan-7")
    assert visit.clinician_items == ()


def test_only_answers_given_after_the_last_plan_count() -> None:
    # The last plan was agreed 3 days before this visit; an answer of 5 days ago was that
    # visit's, already addressed: it never comes back as this visit's number one.
    server = stored(visit_start=VISIT_START - timedelta(days=3, minutes=30),
                    finished_at=VISIT_START - timedelta(days=3))  # fmt: skip
    teen = f"Patient/{PATIENT_ID}"
    old = response("qr-old", teen, 5, concern="Sleepovers with the vest")
    new = response("qr-new", "RelatedPerson/rp-mom", 1, concern="Her weight", respondent="parent")
    visit = read(
        care_plans=server["CarePlan"],
        goals=server["Goal"],
        questionnaire_responses=[old, new],
        related_persons=[related_person("rp-mom", "MTH")],
    )
    assert [a.number_one_concern for a in visit.answers] == ["Her weight"]


def test_a_goal_agreed_at_every_visit_comes_back_once() -> None:
    # Four visits each wrote "Play the whole lacrosse season" as a Goal of its own.
    goals = [
        goal
        for visit in range(4)
        for goal in stored(plan_id=f"plan-{visit}")["Goal"]
        if goal["description"]["text"].startswith("Play")
    ]
    for number, goal in enumerate(goals):
        goal["id"] = f"g-{number}"
    visit = read(goals=goals)
    assert [(i.text, i.origin) for i in visit.clinician_items] == [
        ("Play the whole lacrosse season", "last-plan-goal")
    ]


def amended(options: WriteOptions, kind: str) -> list[dict[str, Any]]:
    """The first version and its amendment, both still current or active (the server would
    not retire the old one), finished the same second. The old one's id sorts last."""
    plan = agreed_plan()
    assert plan.partnering_note is not None
    edited = replace(plan.items[1], text="Ask about insurance after 26, in writing")
    note = replace(plan.partnering_note, text="Maya leads; mom joins for medication changes.")
    first = stored(options)[kind]
    second = stored(options, items=(plan.items[0], edited), partnering_note=note)[kind]
    for resource in first:
        resource["id"] = f"z-{resource['id']}"
    for resource in second:
        (old_id,) = [r["id"] for r in first if r.get("type") == resource.get("type")]
        old = f"{kind}/{old_id}"
        if kind == "CarePlan":
            resource["replaces"] = [{"reference": old}]
        else:
            resource["relatesTo"] = [{"code": "replaces", "target": {"reference": old}}]
    return first + second


def test_an_amended_plan_feeds_forward_its_edit_even_when_the_old_version_stays() -> None:
    as_notes = read(document_references=amended(AS_A_NOTE, "DocumentReference"))
    for visit in (read(care_plans=amended(CAREPLAN, "CarePlan")), as_notes):
        later = [i.text for i in visit.clinician_items if i.origin == "last-plan-activity"]
        assert later == ["Ask about insurance after 26, in writing"]
    # The partnering note too: the amended one is the preference, whatever the ids' order.
    assert as_notes.preference is not None
    assert as_notes.preference.text == "Maya leads; mom joins for medication changes."
