"""The write-back confirmation in words, at the clinic's time: what a clinician reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from smart_app.closing.writeback_status import ResourceStatus, WritebackStatus

NEW_YORK = ZoneInfo("America/New_York")


def status(state: str, *resources: tuple[str, str, str], version: int = 1) -> WritebackStatus:
    return WritebackStatus(
        plan_id="plan-1",
        state=state,
        resources=tuple(ResourceStatus(k, t, s, "id-1", None) for k, t, s in resources),
        attempts=1,
        next_attempt_at=None,
        version=version,
        history=({"version": 1, "state": "written", "finished_at": "2026-12-03T15:42:00+00:00"},),
        ended_at=datetime(2026, 12, 3, 15, 42, tzinfo=UTC),
    )


def test_a_written_plan_says_what_and_when_in_the_clinics_time() -> None:
    written = status(
        "written",
        ("careplan", "CarePlan", "written"),
        ("goal-0", "Goal", "written"),
        ("goal-1", "Goal", "written"),
        ("partnering-note", "DocumentReference", "written"),
        ("preference", "Observation", "not-taken"),
    )
    assert written.confirmation(NEW_YORK) == (
        "Saved to the chart at 10:42 EST: the plan with 2 goals, and the partnering note."
        " The EHR does not take: Observation."
    )
    assert written.to_json(NEW_YORK)["history"][0]["finished_text"] == "3 Dec 10:42 EST"


def test_the_confirmation_names_who_finished() -> None:
    written = replace(
        status("written", ("careplan", "CarePlan", "written")), finished_by="Ari Nguyen"
    )
    assert written.confirmation(UTC) == "Saved to the chart at 15:42 UTC by Ari Nguyen: the plan."


def test_an_amendment_says_updated_and_a_pending_plan_says_nothing_yet() -> None:
    amended = status("written", ("plan-note", "DocumentReference", "written"), version=2)
    assert amended.confirmation(UTC) == "Updated in the chart at 15:42 UTC: the plan as a note."
    assert status("pending", ("careplan", "CarePlan", "pending")).confirmation(UTC) is None
