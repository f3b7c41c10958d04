"""A plan belongs to one visit: its encounter, else the patient's day in the clinic's zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from launch.context import LaunchContext
from smart_app.core.config import ConfigurationError, load_settings
from smart_app.visit.reader import VisitReader

NEW_YORK = ZoneInfo("America/New_York")


def reader(at: datetime, *, encounter: str | None, zone: ZoneInfo = NEW_YORK) -> VisitReader:
    context = LaunchContext(
        iss="https://ehr.example.org/fhir",
        patient="p1",
        encounter=encounter,
        fhir_user="Practitioner/dr1",
        need_patient_banner=False,
        smart_style_url=None,
        intent=None,
        fhir_context=(),
        granted_scopes=frozenset(),
    )
    unused = cast(Any, None)  # the key needs no chart read
    return VisitReader(
        gateway=unused,
        context=context,
        registration=unused,
        capabilities=unused,
        drafts=unused,
        canonical_base="https://flip.example.org/fhir",
        window=timedelta(days=14),
        clinic_zone=zone,
        clock=lambda: at,
    )


def plan_of(at: datetime, *, encounter: str | None = None) -> str:
    return reader(at, encounter=encounter).draft_key().plan_id


MORNING = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # 09:00 in New York


def test_visits_without_an_encounter_on_two_days_are_two_plans() -> None:
    assert plan_of(MORNING) != plan_of(MORNING + timedelta(days=90))
    assert plan_of(MORNING) != plan_of(MORNING + timedelta(days=1))


def test_one_day_without_an_encounter_is_one_plan_in_the_clinics_zone() -> None:
    evening = datetime(2026, 12, 2, 3, 30, tzinfo=UTC)  # 22:30 on Dec 1 in New York
    assert plan_of(MORNING) == plan_of(evening)
    utc_clinic = reader(evening, encounter=None, zone=ZoneInfo("UTC")).draft_key()
    assert utc_clinic.plan_id != plan_of(MORNING)  # in UTC that is already Dec 2


def test_an_encounter_is_the_visit_whatever_the_day() -> None:
    later = MORNING + timedelta(days=3)
    assert plan_of(MORNING, encounter="e1") == plan_of(later, encounter="e1")
    assert plan_of(MORNING, encounter="e1") != plan_of(MORNING, encounter="e2")


def test_an_unknown_clinic_zone_is_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match="FLIP_CLINIC_TIMEZONE"):
        load_settings({"env": "testing", "clinic_timezone": "Mars/Olympus"})
