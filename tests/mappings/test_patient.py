"""Patient -> banner summary: FHIR partial birth dates kept at their precision."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings.patient import PartialDate, partial_date_from_fhir, patient_to_summary
from tests.mappings.builders import patient


def born(birth_date: Any) -> dict[str, Any]:
    return {**patient(), "birthDate": birth_date}


@pytest.mark.parametrize("text", ["2010", "2010-02", "2010-02-03"])
def test_patient_birth_date_keeps_the_precision_the_chart_gives(text: str) -> None:
    summary = patient_to_summary(born(text))
    assert summary is not None and summary.birth_date is not None
    assert summary.birth_date.isoformat() == text  # what the banner and the API show


@pytest.mark.parametrize("text", ["2010-13-45", "soon", "2010-02-30", "0000", "10-02", 2010])
def test_patient_with_an_invalid_birth_date_is_kept_without_it(text: object) -> None:
    summary = patient_to_summary(born(text))
    assert summary is not None
    assert (summary.name, summary.birth_date) == ("Maya Rivera", None)


def test_patient_without_birth_date_has_none() -> None:
    summary = patient_to_summary(patient())
    assert summary is not None and summary.birth_date is None


def test_full_birth_date_is_a_date() -> None:
    assert PartialDate(2010, 2, 3).as_date() == date(2010, 2, 3)
    assert PartialDate(2010, 2).as_date() is None


@pytest.mark.parametrize(
    ("birth", "today", "age"),
    [
        (PartialDate(2010, 2, 3), date(2025, 2, 2), 14),
        (PartialDate(2010, 2, 3), date(2025, 2, 3), 15),
        (PartialDate(2010, 2), date(2025, 3, 1), 15),  # any day of February: 15 by March
        (PartialDate(2010, 2), date(2025, 2, 14), None),  # 14 or 15 depending on the day
        (PartialDate(2010), date(2025, 12, 31), 15),
        (PartialDate(2010), date(2025, 6, 1), None),
        (PartialDate(2024, 2, 29), date(2025, 2, 28), 0),
        (PartialDate(2026), date(2025, 6, 1), None),  # not born yet: no age
    ],
)
def test_age_is_given_only_when_the_birth_date_precision_decides_it(
    birth: PartialDate, today: date, age: int | None
) -> None:
    assert birth.age_on(today) == age


@given(st.dates(min_value=date(1, 1, 1)), st.sampled_from([4, 7, 10]))
def test_every_valid_fhir_date_round_trips_at_its_precision(day: date, length: int) -> None:
    text = day.isoformat()[:length]
    parsed = partial_date_from_fhir(text)
    assert parsed is not None and parsed.isoformat() == text


@given(st.text(max_size=12))
def test_any_birth_date_text_never_breaks_the_patient(text: str) -> None:
    summary = patient_to_summary(born(text))
    assert summary is not None
    if summary.birth_date is not None:
        assert summary.birth_date.isoformat() == text


@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)),
    st.integers(min_value=0, max_value=40_000),
)
def test_age_from_a_partial_date_never_contradicts_the_full_one(birth: date, days: int) -> None:
    today = birth + timedelta(days=days)
    full_age = PartialDate(birth.year, birth.month, birth.day).age_on(today)
    full_months = PartialDate(birth.year, birth.month, birth.day).months_on(today)
    for partial in (PartialDate(birth.year, birth.month), PartialDate(birth.year)):
        assert partial.age_on(today) in (None, full_age)
        assert partial.months_on(today) in (None, full_months)


@pytest.mark.parametrize(
    ("birth", "today", "words"),
    [
        (PartialDate(2026, 7, 7), date(2026, 12, 7), "5 mo"),  # an infant: months
        (PartialDate(2026, 7, 7), date(2026, 12, 6), "4 mo"),
        (PartialDate(2026, 12, 1), date(2026, 12, 7), "0 mo"),
        (PartialDate(2024, 12, 8), date(2026, 12, 7), "23 mo"),
        (PartialDate(2024, 12, 7), date(2026, 12, 7), "2 y"),  # two and over: years
        (PartialDate(2013, 3, 7), date(2026, 12, 7), "13 y"),
        (PartialDate(2026, 7), date(2026, 12, 7), "0 y"),  # 4 or 5 months: years are sure
        (PartialDate(2026, 7), date(2026, 12, 31), "5 mo"),
        (PartialDate(2010), date(2026, 6, 1), None),
        (PartialDate(2027, 1, 1), date(2026, 12, 7), None),  # not born yet
    ],
)
def test_an_age_is_said_in_months_under_two_years(
    birth: PartialDate, today: date, words: str | None
) -> None:
    assert birth.age_words(today) == words
