"""The clinic-day panel's rows, read from FHIR JSON (fhir_mappings.clinic_day and
previsit_summary): what a nurse preparing the day reads for each patient."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fhir_mappings.clinic_day import ChartsOfTheDay, Reading, bookings, day_rows
from fhir_mappings.fields import Skips
from fhir_mappings.previsit_summary import preview
from tests.mappings.builders import (
    NEW_YORK,
    PATIENT_ID,
    VISIT_START,
    WINDOW,
    flip_plan,
    patient,
    related_person,
    response,
)
from tests.mappings.test_feed_forward import AS_A_NOTE, stored

Resource = dict[str, Any]


def appointment(
    appointment_id: str, hours: float, *, status: str = "booked", **more: Any
) -> Resource:
    return {
        "resourceType": "Appointment",
        "id": appointment_id,
        "status": status,
        "start": (VISIT_START + timedelta(hours=hours)).isoformat(),
        "participant": [{"actor": {"reference": f"Patient/{PATIENT_ID}"}, "status": "accepted"}],
        **more,
    }


def one_row(*responses: Resource, **charts: list[object]) -> Any:
    booked = bookings([appointment("a1", 0, reasonCode=[{"text": "CF review"}])], NEW_YORK, Skips())
    found = ChartsOfTheDay(
        patients=charts.get("patients", [patient()]),
        responses=list(responses),
        related_persons=charts.get("related_persons", [related_person("rp-mom", "MTH")]),
        care_plans=charts.get("care_plans", []),
        goals=charts.get("goals", []),
        notes=charts.get("notes", []),
    )
    [row] = day_rows(booked, found, Reading(window=WINDOW, clinic_language="en"))
    return row


def test_bookings_leave_out_visits_that_will_not_happen_and_sort_by_time() -> None:
    skips = Skips()
    found = bookings(
        [
            appointment("late", 3),
            appointment("early", 1),
            appointment("gone", 2, status="cancelled"),
            appointment("no-show", 2, status="noshow"),
            {"resourceType": "Appointment", "id": "no-patient", "status": "booked",
             "start": VISIT_START.isoformat(), "participant": []},
            "not a resource",
        ],
        NEW_YORK,
        skips,
    )  # fmt: skip
    assert [b.appointment_id for b in found] == ["early", "late"]
    assert found[0].start.tzinfo == NEW_YORK
    assert skips.count >= 1  # the appointment with no patient is counted, not hidden


def test_the_patients_own_concern_heads_the_row_and_the_family_is_named() -> None:
    teen = f"Patient/{PATIENT_ID}"
    row = one_row(
        response("qr-mom", "RelatedPerson/rp-mom", 2, concern="Her weight", respondent="parent"),
        response("qr-teen", teen, 1, concern="Lacrosse travel", style="talk-options",
                 learning=("written",), language="en"),
    )  # fmt: skip
    assert row.booking.reason == "CF review"
    assert row.answers.concern == "Lacrosse travel"
    assert {a.is_family for a in row.answers.answered} == {True, False}
    assert row.answers.style == "I like to talk through the options and decide together"
    assert row.answers.learning == "Give me something written"
    assert not row.answers.needs_interpreter and not row.answers.care_team_only


def test_a_teens_private_answer_is_marked_care_team_only() -> None:
    row = one_row(
        response("qr-teen", f"Patient/{PATIENT_ID}", 1, concern="Vaping", share=False),
    )
    assert row.answers.care_team_only and row.answers.concern == "Vaping"


def test_spanish_answers_need_an_interpreter_in_an_english_clinic() -> None:
    row = one_row(
        response("qr-mom", "RelatedPerson/rp-mom", 1, concern="Su peso", respondent="parent",
                 language="es"),
    )  # fmt: skip
    assert row.answers.needs_interpreter
    assert [language.interpreter for language in row.answers.languages] == [True]


def test_no_current_concern_is_an_answer_and_nobody_yet_is_not() -> None:
    said_none = one_row(response("qr-teen", f"Patient/{PATIENT_ID}", 1, no_concern=True))
    assert said_none.answers.has_answers and said_none.answers.no_current_concern
    nobody = one_row()
    assert not nobody.answers.has_answers and not nobody.answers.no_current_concern


def test_the_patients_no_current_concern_stays_beside_a_parents_concern() -> None:
    row = one_row(
        response("qr-mom", "RelatedPerson/rp-mom", 2, concern="Her weight", respondent="parent"),
        response("qr-teen", f"Patient/{PATIENT_ID}", 1, no_concern=True),
    )
    assert row.answers.concern == "Her weight" and row.answers.concern_by == "mom"
    assert row.answers.no_concern_from == ("Maya",)
    assert (
        one_row(
            response("qr-teen", f"Patient/{PATIENT_ID}", 1, no_concern=True)
        ).answers.no_concern_from
        == ()
    )  # the row says "No current concern" itself


def test_open_items_of_the_last_plan_are_counted() -> None:
    assert one_row(care_plans=[flip_plan("plan-1", 30)]).open_items > 0
    assert one_row().open_items == 0


def test_a_visit_finished_on_its_day_says_its_plan_is_saved_not_that_nobody_answered() -> None:
    answered = response("qr-teen", f"Patient/{PATIENT_ID}", 1, concern="Lacrosse travel")
    finished = one_row(answered, care_plans=[flip_plan("plan-1", -0.02)])  # 10:28 that day
    assert not finished.answers.has_answers  # the answers were that visit's
    assert finished.plan_saved_at == VISIT_START + timedelta(minutes=28.8)
    # A plan from an earlier visit says nothing about today's.
    earlier = one_row(answered, care_plans=[flip_plan("plan-1", 30)])
    assert earlier.plan_saved_at is None and earlier.answers.has_answers


def test_a_plan_written_as_a_note_counts_its_open_items_and_its_day() -> None:
    # Epic and Oracle Health take no CarePlan: the plan is a Plan of care note.
    written = stored(AS_A_NOTE)
    assert "CarePlan" not in written
    row = one_row(notes=written["DocumentReference"])
    assert row.open_items == 4  # two later or deferred items, two goals
    assert row.plan_saved_at is None  # agreed four weeks before this booking


def test_a_missing_patient_still_gives_the_booking_a_row() -> None:
    row = one_row(patients=[])
    assert row.patient is None and row.booking.patient_id == PATIENT_ID


def test_the_preview_cuts_long_concerns_at_a_word() -> None:
    words = "I want to understand why my lungs feel worse every winter and what we can do " * 2
    cut = preview(words)
    assert len(cut) <= 81 and cut.endswith("…") and not cut[:-1].endswith(" ")
    assert words.startswith(cut[:-1])
    assert preview("Short and sweet") == "Short and sweet"
