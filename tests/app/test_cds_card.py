"""The CDS card of pre-visit answers: what an EHR shows when the chart opens (pure)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from fhir_mappings.visit_model import PreVisitAnswers, Respondent
from smart_app.team.cds_card import card, escape

NEW_YORK = ZoneInfo("America/New_York")
LAUNCH = "https://flip.example.org/launch"
MAYA = PreVisitAnswers(
    response_id="qr-1",
    author="Patient/p1",
    author_display="Maya",
    respondent=Respondent.PATIENT,
    authored=datetime(2026, 12, 2, 19, 5, tzinfo=ZoneInfo("UTC")),
    number_one_concern="Lacrosse travel without my vest",
    no_current_concern=False,
    other_concerns=(),
    partnering_style=None,
    learning_preferences=(),
    language="es",
    share_with_family=True,
)
MOM = replace(
    MAYA,
    response_id="qr-2",
    author="RelatedPerson/rp-mom",
    author_display="mom",
    respondent=Respondent.PARENT,
    number_one_concern="Her weight gain this winter",
    language=None,
)


def card_of(*answers: PreVisitAnswers) -> dict[str, object]:
    return card(answers, clinic_language="en", zone=NEW_YORK, launch_url=LAUNCH, card_id="c-1")


def test_card_quotes_the_patients_own_concern_first() -> None:
    built = card_of(MOM, MAYA)
    assert built["summary"] == "Number one concern: Lacrosse travel without my vest"
    assert built["links"] == [{"label": "Open Flip", "url": LAUNCH, "type": "smart"}]
    detail = str(built["detail"])
    assert "Maya, 2026-12-02 14:05 EST" in detail  # the clinic's time, not UTC
    assert "Español, interpreter needed" in detail


def test_card_without_answers_says_to_ask() -> None:
    assert card_of()["summary"] == "No pre-visit answers yet: ask about their number one concern"


def test_card_says_no_current_concern_in_words() -> None:
    nothing = replace(MAYA, number_one_concern=None, no_current_concern=True)
    assert str(card_of(nothing)["summary"]).startswith("No current concern")


def test_card_keeps_the_patients_no_current_concern_beside_moms_concern() -> None:
    built = card_of(MOM, replace(MAYA, number_one_concern=None, no_current_concern=True))
    assert built["summary"] == "Number one concern: Her weight gain this winter"
    assert "- **No current concern:** Maya" in str(built["detail"])


def test_card_escapes_chart_words_for_markdown() -> None:
    sly = replace(MAYA, number_one_concern="[click](https://evil.example) <img src=x> **now**_")
    detail = str(card_of(sly)["detail"])
    assert r"\[click\]\(https://evil.example\) \<img src=x\> \*\*now\*\*\_" in detail
    assert re.search(r"(?<!\\)\]\(|(?<!\\)<img", detail) is None


def test_care_team_only_words_are_never_on_the_card() -> None:
    secret = replace(
        MAYA, number_one_concern="Something only for my doctor", share_with_family=False
    )
    built = card_of(secret, MOM)
    text = f"{built['summary']} {built['detail']}"
    assert "only for my doctor" not in text
    assert "care team only" in str(built["summary"])
    assert "Maya" in str(built["detail"])  # that she answered is not her words


@given(st.text(min_size=1, max_size=600).filter(lambda t: t.strip()))
def test_summary_stays_under_140_characters(words: str) -> None:
    summary = str(card_of(replace(MAYA, number_one_concern=words))["summary"])
    assert len(summary) < 140
    assert summary.startswith("Number one concern: ")


@given(st.text(max_size=200))
def test_escaped_text_is_one_line_with_no_bare_specials(words: str) -> None:
    escaped = escape(words)
    assert "\n" not in escaped
    # Take away every backslash escape: no Markdown special is left bare.
    bare = re.sub(r"\\.", "", escaped)
    assert not set(bare) & set("\\`*_{}[]()<>!|~&")
