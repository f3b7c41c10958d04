"""The agreed plan written back: each resource valid R4, idempotent, and read by the next visit."""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import date, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pytest
from fhir.resources.R4B import get_fhir_model_class

from fhir_mappings import codes
from fhir_mappings.plan_model import (
    AgendaOutcome,
    AgreedPlan,
    PartneringNote,
    PlanGoal,
    PlanItem,
)
from fhir_mappings.writeback import (
    MappingError,
    PlannedWrite,
    WriteOptions,
    plan_writes,
    provenance_for,
    resolve_references,
    written_resource_ref,
)
from tests.mappings.builders import NEW_YORK, PATIENT_ID, VISIT_START

SYSTEM = codes.identifier_system()
# The plan was agreed four weeks before the visit the builders read.
PLAN_START = VISIT_START - timedelta(days=28)
PLAN_END = PLAN_START + timedelta(minutes=25)
DATETIME_WITH_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d|Z)$")


def agreed_plan(**changes: Any) -> AgreedPlan:
    plan = AgreedPlan(
        plan_id="plan-7",
        patient_id=PATIENT_ID,
        encounter_id="enc-1",
        practitioner_ref="Practitioner/dr",
        items=(
            PlanItem("Airway clearance before lacrosse travel", "Maya", "now", None),
            PlanItem("Ask about insurance after 26", "social worker", "later", date(2025, 12, 1)),
        ),
        goals=(PlanGoal("Play the whole lacrosse season"), PlanGoal("Stay on my own plan at 26")),
        follow_up="Clinic in 3 months",
        partnering_note=PartneringNote(
            style="research-and-bring-ideas",
            learning_preferences=("written", "talk-it-through"),
            text="Maya leads; mom joins for the last five minutes.",
        ),
        outcomes=(
            AgendaOutcome("Wedding travel", "patient", "addressed", None),
            AgendaOutcome("Home monitoring data", "family", "deferred", "needs the device report"),
        ),
        something_else_asked=True,
        something_else_added=("Sleep",),
        visit_start=PLAN_START,
        finished_at=PLAN_END,
    )
    return dataclasses.replace(plan, **changes)


def by_key(writes: list[PlannedWrite]) -> dict[str, PlannedWrite]:
    return {w.key: w for w in writes}


def parse_xhtml(div: str) -> ElementTree.Element:
    # Flip's own output, parsed to prove it well-formed XHTML.
    return ElementTree.fromstring(div)  # noqa: S314


def validates(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def note_text(resource: dict[str, Any]) -> str:
    (content,) = resource["content"]
    assert content["attachment"]["contentType"] == "text/plain; charset=utf-8"
    return base64.b64decode(content["attachment"]["data"], validate=True).decode("utf-8")


def identifier_values(writes: list[PlannedWrite]) -> list[str]:
    return [i["value"] for w in writes for i in w.resource["identifier"]]


def test_plan_writes_every_resource_in_dependency_order() -> None:
    writes = plan_writes(agreed_plan())

    assert [w.key for w in writes] == [
        "goal-0",
        "goal-1",
        "careplan",
        "partnering-note",
        "preference",
    ]
    assert by_key(writes)["careplan"].depends_on == ("goal-0", "goal-1")
    for write in writes:
        validates(write.resource)
        assert write.resource["resourceType"] == write.resource_type
        assert write.full_url.startswith("urn:uuid:")


def test_careplan_carries_the_agreed_plan() -> None:
    writes = by_key(plan_writes(agreed_plan()))
    careplan = writes["careplan"].resource

    assert careplan["status"] == "active"
    assert careplan["intent"] == "plan"
    assert careplan["category"][0]["coding"][0]["system"] == codes.CAREPLAN_CATEGORY
    assert careplan["category"][0]["coding"][0]["code"] == codes.ASSESS_PLAN
    assert careplan["text"]["status"] == "generated"
    assert careplan["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
    assert careplan["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert careplan["encounter"] == {"reference": "Encounter/enc-1"}
    assert careplan["period"]["start"] == PLAN_START.isoformat()
    assert careplan["author"] == {"reference": "Practitioner/dr"}
    assert careplan["identifier"] == [{"system": SYSTEM, "value": "careplan/plan-7"}]
    assert careplan["goal"] == [
        {"reference": writes["goal-0"].full_url},
        {"reference": writes["goal-1"].full_url},
    ]
    now, later, deferred = (a["detail"] for a in careplan["activity"])
    # Done in the room: completed, so it does not come back as open at the next visit.
    assert now == {
        "status": "completed",
        "description": "Airway clearance before lacrosse travel",
        "performer": [{"display": "Maya"}],
    }
    assert later == {
        "status": "not-started",
        "description": "Ask about insurance after 26",
        "scheduledPeriod": {"end": "2025-12-01"},
        "performer": [{"display": "social worker"}],
    }
    # Deferred in the visit: on hold, with why, so the next visit brings it back.
    assert deferred == {
        "status": "on-hold",
        "description": "Home monitoring data",
        "statusReason": {"text": "needs the device report"},
    }


def test_careplan_narrative_lists_items_goals_follow_up_and_outcomes() -> None:
    div = by_key(plan_writes(agreed_plan()))["careplan"].resource["text"]["div"]
    words = "".join(parse_xhtml(div).itertext())

    for expected in (
        "Airway clearance before lacrosse travel; who: Maya; now",
        "Ask about insurance after 26; who: social worker; later; by 2025-12-01",
        "Play the whole lacrosse season",
        "Follow-up: Clinic in 3 months",
        "Wedding travel (patient): addressed",
        "Home monitoring data (family): deferred, because needs the device report",
        '"Is there something else you want to address today?" was asked; added: Sleep.',
    ):
        assert expected in words


def test_narrative_escapes_script_and_html() -> None:
    plan = agreed_plan(
        items=(PlanItem("<script>alert('x')</script>", "<b>mom</b>", "later", None),),
        follow_up="A & B > C",
    )
    div = by_key(plan_writes(plan))["careplan"].resource["text"]["div"]

    assert "<script>" not in div
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in div
    assert "&lt;b&gt;mom&lt;/b&gt;" in div
    assert "A &amp; B &gt; C" in div
    parse_xhtml(div)


def test_goal_per_explicit_goal_in_the_persons_words() -> None:
    plan = agreed_plan(
        goals=(PlanGoal("Finish school"), PlanGoal("Gain weight", "RelatedPerson/mom"))
    )
    writes = by_key(plan_writes(plan))

    first, second = writes["goal-0"].resource, writes["goal-1"].resource
    assert first["lifecycleStatus"] == "active"
    assert first["description"] == {"text": "Finish school"}
    assert first["expressedBy"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert second["expressedBy"] == {"reference": "RelatedPerson/mom"}
    assert first["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert first["identifier"] == [{"system": SYSTEM, "value": "goal/plan-7/0"}]
    assert second["identifier"] == [{"system": SYSTEM, "value": "goal/plan-7/1"}]


def test_partnering_note_is_a_plain_text_document() -> None:
    note = by_key(plan_writes(agreed_plan()))["partnering-note"].resource

    assert note["status"] == "current"
    assert note["docStatus"] == "final"
    assert note["type"]["coding"][0] == {
        "system": codes.LOINC,
        "code": codes.PROGRESS_NOTE,
        "display": "Progress note",
    }
    assert note["category"][0]["coding"][0]["system"] == codes.DOCUMENT_CATEGORY
    assert note["category"][0]["coding"][0]["code"] == codes.CLINICAL_NOTE
    assert note["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert note["author"] == [{"reference": "Practitioner/dr"}]
    assert note["context"]["encounter"] == [{"reference": "Encounter/enc-1"}]
    assert note["identifier"] == [{"system": SYSTEM, "value": "partnering-note/plan-7"}]
    assert note_text(note) == (
        "Partnering note: how this person and family like to partner in their care\n"
        "\n"
        "Partnering style: I research and bring ideas, and we decide together\n"
        "Likes to learn: Give me something written; Talk it through with me\n"
        "\n"
        "Maya leads; mom joins for the last five minutes.\n"
        "\n"
        "Recorded with Flip on 2025-10-06 10:25 EDT.\n"
    )


def test_note_type_is_configurable() -> None:
    options = WriteOptions(note_type=("http://example.org/note-types", "partnering", "Partnering"))
    note = by_key(plan_writes(agreed_plan(), options))["partnering-note"].resource

    assert note["type"]["coding"][0]["code"] == "partnering"


def test_every_datetime_has_a_time_and_zone() -> None:
    writes = by_key(plan_writes(agreed_plan()))
    note = writes["partnering-note"].resource

    for value in (
        note["date"],
        note["context"]["period"]["start"],
        note["context"]["period"]["end"],
        writes["careplan"].resource["period"]["start"],
        writes["preference"].resource["effectiveDateTime"],
        provenance_for("CarePlan/1", agreed_plan())["recorded"],
    ):
        assert DATETIME_WITH_TIME.match(value), value
    assert note["context"]["period"] == {
        "start": "2025-10-06T10:00:00-04:00",
        "end": "2025-10-06T10:25:00-04:00",
    }


def test_preference_observation_follows_us_core() -> None:
    observation = by_key(plan_writes(agreed_plan()))["preference"].resource

    assert observation["status"] == "final"
    assert observation["category"][0]["coding"][0]["system"] == codes.US_CORE_CATEGORY
    assert observation["category"][0]["coding"][0]["code"] == "care-experience-preference"
    assert observation["code"]["coding"][0]["system"] == codes.LOINC
    assert observation["code"]["coding"][0]["code"] == "95541-9"
    assert observation["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert observation["performer"] == [{"reference": f"Patient/{PATIENT_ID}"}]
    assert observation["effectiveDateTime"] == PLAN_START.isoformat()
    assert observation["valueString"] == (
        "Partnering style: I research and bring ideas, and we decide together; likes to learn: "
        "Give me something written; Talk it through with me. "
        "Maya leads; mom joins for the last five minutes."
    )
    assert observation["identifier"] == [{"system": SYSTEM, "value": "preference/plan-7"}]


def test_provenance_names_the_clinician_and_flip() -> None:
    provenance = provenance_for("CarePlan/123", agreed_plan())

    validates(provenance)
    assert provenance["target"] == [{"reference": "CarePlan/123"}]
    assert provenance["recorded"] == PLAN_END.isoformat()
    author, transmitter = provenance["agent"]
    assert author["type"]["coding"][0]["system"] == codes.PROVENANCE_PARTICIPANT_TYPE
    assert author["type"]["coding"][0]["code"] == "author"
    assert author["who"] == {"reference": "Practitioner/dr"}
    assert transmitter["type"]["coding"][0]["code"] == "transmitter"
    assert transmitter["who"] == {
        "type": "Device",
        "identifier": {"system": SYSTEM, "value": "flip"},
        "display": "Flip",
    }


def test_same_plan_same_identifiers_other_plan_other_identifiers() -> None:
    first, again = plan_writes(agreed_plan()), plan_writes(agreed_plan())
    other = plan_writes(agreed_plan(plan_id="plan-8"))

    assert [w.full_url for w in first] == [w.full_url for w in again]
    assert [w.if_none_exist for w in first] == [w.if_none_exist for w in again]
    assert identifier_values(first) == identifier_values(again)
    assert not {w.full_url for w in first} & {w.full_url for w in other}
    assert not set(identifier_values(first)) & set(identifier_values(other))
    assert by_key(first)["careplan"].if_none_exist == f"identifier={SYSTEM}|careplan/plan-7"


def test_plan_as_note_replaces_careplan_and_goals() -> None:
    writes = plan_writes(agreed_plan(), WriteOptions(plan_as_careplan=False))

    assert [w.key for w in writes] == ["plan-note", "partnering-note", "preference"]
    note = writes[0].resource
    validates(note)
    assert note["type"]["coding"][0]["code"] == codes.PLAN_OF_CARE_NOTE
    assert note["identifier"] == [{"system": SYSTEM, "value": "plan-note/plan-7"}]
    assert note["author"] == [{"reference": "Practitioner/dr"}]
    words = note_text(note)
    for expected in (
        "- Ask about insurance after 26; who: social worker; later; by 2025-12-01",
        "- Play the whole lacrosse season",
        "Follow-up: Clinic in 3 months",
        "- Home monitoring data (family): deferred, because needs the device report",
        "Recorded with Flip on 2025-10-06 10:25 EDT.",
    ):
        assert expected in words


def test_empty_parts_are_left_out() -> None:
    plan = agreed_plan(goals=(), partnering_note=None, encounter_id=None, items=(), outcomes=())
    writes = plan_writes(plan)

    assert [w.key for w in writes] == ["careplan"]
    careplan = writes[0].resource
    assert "goal" not in careplan
    assert "activity" not in careplan
    assert "encounter" not in careplan


def test_no_observation_when_switched_off_or_only_learning_preferences() -> None:
    switched_off = plan_writes(agreed_plan(), WriteOptions(write_observation=False))
    learning_only = plan_writes(
        agreed_plan(partnering_note=PartneringNote(None, ("written",), None))
    )

    assert "preference" not in by_key(switched_off)
    assert "preference" not in by_key(learning_only)
    assert "partnering-note" in by_key(learning_only)


def test_resolve_references_replaces_full_urls_with_written_ids() -> None:
    writes = by_key(plan_writes(agreed_plan()))
    written = {
        writes["goal-0"].full_url: written_resource_ref(writes["goal-0"], "g1"),
        writes["goal-1"].full_url: written_resource_ref(writes["goal-1"], "g2"),
    }

    resolved = resolve_references(writes["careplan"].resource, written)

    assert resolved["goal"] == [{"reference": "Goal/g1"}, {"reference": "Goal/g2"}]
    assert resolved["subject"] == {"reference": f"Patient/{PATIENT_ID}"}
    assert writes["careplan"].resource["goal"][0]["reference"].startswith("urn:uuid:")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(MappingError):
        plan_writes(agreed_plan(finished_at=datetime(2025, 10, 6, 10, 25)))


def test_zone_is_kept_as_given() -> None:
    start = datetime(2025, 7, 1, 9, 0, tzinfo=NEW_YORK)
    plan = agreed_plan(visit_start=start, finished_at=start + timedelta(minutes=20))
    note = by_key(plan_writes(plan))["partnering-note"].resource

    assert note["date"] == "2025-07-01T09:20:00-04:00"


def test_malformed_narrative_is_a_mapping_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from fhir_mappings import writeback

    monkeypatch.setattr(writeback, "careplan_div", lambda plan: "<div><p>unclosed</div>")

    with pytest.raises(writeback.MappingError, match="narrative"):
        plan_writes(agreed_plan())


def test_a_deferred_line_also_agreed_to_do_after_is_one_activity_on_hold() -> None:
    # "Add to plan" on a deferred line: the item and the deferral are the same thing to do.
    plan = agreed_plan(
        items=(PlanItem("Home monitoring data", "mom", "later", date(2025, 12, 1)),),
    )
    careplan = by_key(plan_writes(plan))["careplan"].resource
    same = [
        a["detail"] for a in careplan["activity"] if "Home monitoring" in a["detail"]["description"]
    ]
    assert same == [
        {
            "status": "on-hold",
            "description": "Home monitoring data",
            "scheduledPeriod": {"end": "2025-12-01"},
            "performer": [{"display": "mom"}],
            "statusReason": {"text": "needs the device report"},
        }
    ]
    validates(careplan)
