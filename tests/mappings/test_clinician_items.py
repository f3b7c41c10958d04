"""The clinician's items: the last plan Flip wrote, then the encounter's or booking's reason."""

from __future__ import annotations

from tests.mappings.builders import (
    appointment,
    encounter,
    flip_plan,
    goal,
    read,
)


def test_open_activities_and_active_goals_of_the_newest_flip_plan() -> None:
    older = flip_plan("old", 120)
    newer = flip_plan("new", 30)
    newer["activity"][0]["detail"]["description"] = "Airway clearance before lacrosse"
    someone_elses = {**flip_plan("other-team", 1), "identifier": []}
    goals = [
        goal("g1", "Keep FEV1 above 90%"),
        goal("g2", "Gain 2 kg by spring", flip=True),
        goal("g3", "Finished goal", status="completed", flip=True),
        goal("g4", "Another team's goal"),
    ]
    inputs = read(care_plans=[older, newer, someone_elses], goals=goals)
    assert [(i.key, i.text, i.origin) for i in inputs.clinician_items] == [
        ("CarePlan/new#activity-0", "Airway clearance before lacrosse", "last-plan-activity"),
        ("CarePlan/new#activity-2", "Spirometry at next visit", "last-plan-activity"),
        ("Goal/g1#goal", "Keep FEV1 above 90%", "last-plan-goal"),
        ("Goal/g2#goal", "Gain 2 kg by spring", "last-plan-goal"),
    ]
    spirometry = inputs.clinician_items[1]
    assert spirometry.codes == frozenset({"http://snomed.info/sct|127783003"})
    assert spirometry.reference == "CarePlan/new"
    assert inputs.skipped == 0


def test_a_completed_plan_is_not_the_last_plan() -> None:
    inputs = read(care_plans=[flip_plan("done", 10, status="completed")])
    assert inputs.clinician_items == ()


def test_encounter_reasons_come_after_the_plan_and_replace_the_booking_reason() -> None:
    inputs = read(
        encounter=encounter(["Weight gain and enzyme dosing", "Throat culture"]),
        appointments=[appointment("Quarterly CF visit")],
        care_plans=[flip_plan("p", 30)],
    )
    reasons = [i for i in inputs.clinician_items if i.origin == "encounter-reason"]
    assert [(i.key, i.text) for i in reasons] == [
        ("Encounter/enc-1#reason-0", "Weight gain and enzyme dosing"),
        ("Encounter/enc-1#reason-1", "Throat culture"),
    ]
    assert inputs.clinician_items[-1].origin == "encounter-reason"
    assert not any(i.origin == "appointment-reason" for i in inputs.clinician_items)


def test_the_booking_reason_is_used_when_the_encounter_has_none() -> None:
    inputs = read(
        encounter=encounter(),
        appointments=[appointment("Quarterly CF visit"), appointment("Dentist", "appt-2")],
    )
    assert [(i.key, i.text, i.origin) for i in inputs.clinician_items] == [
        ("Appointment/appt-1#reason-0", "Quarterly CF visit", "appointment-reason")
    ]


def test_a_coded_reason_reads_its_display() -> None:
    enc = encounter()
    enc["reasonCode"] = [
        {"coding": [{"system": "http://snomed.info/sct", "code": "190905008", "display": "CF"}]}
    ]
    (item,) = read(encounter=enc).clinician_items
    assert item.text == "CF"
    assert item.codes == frozenset({"http://snomed.info/sct|190905008"})


def test_another_patients_encounter_and_appointment_are_skipped() -> None:
    enc = {**encounter(["Not this patient"]), "subject": {"reference": "Patient/other"}}
    appt = appointment("Not this patient either")
    appt["participant"] = [{"actor": {"reference": "Patient/other"}, "status": "accepted"}]
    inputs = read(encounter=enc, appointments=[appt])
    assert inputs.clinician_items == ()
    assert inputs.skipped == 2
