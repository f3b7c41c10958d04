"""The partnering preference: the newest of the answers, the Observation and the note."""

from __future__ import annotations

from typing import Any

from fhir_mappings.codes import DEFAULT_BASE, identifier_system
from fhir_mappings.fields import Skips
from fhir_mappings.preference import preference_history
from tests.mappings.builders import (
    NEW_YORK,
    PATIENT_ID,
    partnering_note,
    preference_observation,
    read,
    related_person,
    response,
)
from tests.mappings.test_feed_forward import stored

TEEN = f"Patient/{PATIENT_ID}"


def test_the_newest_source_wins_whichever_it_is() -> None:
    answer = response("qr", TEEN, 3, style="bring-questions", learning=("talk-it-through",))
    observation = preference_observation("obs", "I like to hear more from my doctor", 5)
    note = partnering_note("note", "Googles everything and brings it to talk about", 10)

    from_answer = read(questionnaire_responses=[answer], observations=[observation])
    assert from_answer.preference is not None
    assert from_answer.preference.source == "questionnaire"
    assert from_answer.preference.style == "bring-questions"
    assert from_answer.preference.style_display == (
        "I bring my questions and concerns, and we decide together"
    )
    assert from_answer.preference.learning_preferences == ("talk-it-through",)
    assert from_answer.preference.recorded_by == "Maya"

    newer_observation = preference_observation("obs2", "Prefers not to be as active", 1)
    from_observation = read(
        questionnaire_responses=[answer], observations=[observation, newer_observation]
    )
    assert from_observation.preference is not None
    assert from_observation.preference.source == "observation"
    assert from_observation.preference.text == "Prefers not to be as active"

    newest_note = partnering_note("note2", "Teen now leads; mom listens", 0.5)
    from_note = read(
        questionnaire_responses=[answer],
        observations=[observation],
        document_references=[note, newest_note],
    )
    assert from_note.preference is not None
    assert from_note.preference.source == "note"
    assert from_note.preference.text == "Teen now leads; mom listens"
    assert from_note.preference.recorded_by == "Dr. Okafor"
    assert from_note.skipped == 0


def test_the_patients_own_style_wins_over_a_newer_parents() -> None:
    responses = [
        response("teen", TEEN, 4, style="research-and-bring-ideas"),
        response("mom", "RelatedPerson/mom", 1, style="team-decides"),
    ]
    inputs = read(questionnaire_responses=responses, related_persons=[related_person("mom", "MTH")])
    assert inputs.preference is not None
    assert inputs.preference.style == "research-and-bring-ideas"


def test_answers_without_a_preference_give_none() -> None:
    inputs = read(questionnaire_responses=[response("qr", TEEN, 1, concern="Wedding")])
    assert inputs.preference is None


def test_other_observations_and_notes_are_chart_data_not_skips() -> None:
    weight: dict[str, Any] = {
        "resourceType": "Observation",
        "id": "w",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": TEEN},
        "valueQuantity": {"value": 50, "unit": "kg"},
    }
    plan_note = partnering_note("plan", "Plan of care", 1)
    plan_note["identifier"] = [{"system": identifier_system(), "value": "plan-note/1"}]
    inputs = read(observations=[weight], document_references=[plan_note])
    assert inputs.preference is None
    assert inputs.skipped == 0


def test_unusable_preferences_are_skipped() -> None:
    preliminary = {**preference_observation("o1", "words", 1), "status": "preliminary"}
    other_patient = {
        **preference_observation("o2", "words", 1),
        "subject": {"reference": "Patient/x"},
    }
    no_text = partnering_note("n1", "words", 1)
    no_text["content"] = [{"attachment": {"contentType": "text/plain", "data": "!!notbase64"}}]
    superseded = {**partnering_note("n2", "words", 1), "status": "superseded"}
    inputs = read(
        observations=[preliminary, other_patient], document_references=[no_text, superseded]
    )
    assert inputs.preference is None
    assert inputs.skipped == 4


def test_the_care_team_reads_a_written_partnering_note_once() -> None:
    # Flip writes the note and, for other apps, a Care Experience Preference with the same
    # words: the history lists the note, not the note and then "recorded preference".
    written = stored()
    someone_elses = preference_observation("o-nurse", "Prefers mornings", 40)
    history = preference_history(
        answers=(),
        observations=[*written["Observation"], someone_elses],
        document_references=written["DocumentReference"],
        patient_ref=TEEN,
        zone=NEW_YORK,
        base=DEFAULT_BASE,
        skips=Skips(),
    )
    assert [entry.source for entry in history] == ["note", "observation"]
    assert history[1].text == "Prefers mornings"
    # Without its note (not readable, or not written), Flip's Observation still shows.
    alone = preference_history(
        answers=(),
        observations=written["Observation"],
        document_references=[],
        patient_ref=TEEN,
        zone=NEW_YORK,
        base=DEFAULT_BASE,
        skips=Skips(),
    )
    assert [entry.source for entry in alone] == ["observation"]
