"""The pre-visit form's mapping: its words come from the one Questionnaire, and the visit
reads each response once whether the EHR, Flip's store, or both hold it."""

from __future__ import annotations

from datetime import UTC, datetime

from fhir_mappings import questionnaire as q
from fhir_mappings.codes import identifier_system
from fhir_mappings.previsit_form import (
    FormAnswers,
    answers_to_questionnaire_response,
    for_family,
    form_items,
    previsit_identifier,
    with_flips_own,
)
from fhir_mappings.questionnaire import build_questionnaire


def response(key: str, *, concern: str = "Sleepovers") -> dict[str, object]:
    return {
        "id": f"flip-{key}",
        **answers_to_questionnaire_response(
            FormAnswers(number_one_concern=concern, share_with_family=True),
            patient_id="p1",
            author="Patient/p1",
            identifier=previsit_identifier(key),
            authored=datetime(2026, 12, 1, tzinfo=UTC),
            amended=False,
            lang="en",
        ),
    }


def test_a_response_the_ehr_took_is_read_once_and_the_ehrs_copy_wins() -> None:
    ehr_copy = {**response("k1", concern="Sleepovers, changed in the portal"), "id": "ehr-9"}
    kept_only_by_flip = response("k2")
    merged = with_flips_own([ehr_copy], [response("k1"), kept_only_by_flip])
    assert [r["id"] for r in merged] == ["ehr-9", "flip-k2"]


def test_responses_without_flips_identifier_are_all_kept() -> None:
    portal_answer = {"resourceType": "QuestionnaireResponse", "id": "portal-1"}
    assert with_flips_own([portal_answer], [response("k1")]) == [portal_answer, response("k1")]
    assert response("k1")["identifier"] == {
        "system": identifier_system(),
        "value": previsit_identifier("k1"),
    }


def test_the_forms_words_come_from_the_questionnaire_in_each_language() -> None:
    questionnaire = build_questionnaire()
    english, spanish = form_items(questionnaire, "en"), form_items(questionnaire, "es")
    by_link_id = {item["linkId"]: item for item in questionnaire["item"]}
    assert english[q.NUMBER_ONE_CONCERN].text == by_link_id[q.NUMBER_ONE_CONCERN]["text"]
    assert spanish[q.NUMBER_ONE_CONCERN].text == q.SPANISH[q.NUMBER_ONE_CONCERN]
    assert spanish[q.PARTNERING_STYLE].options[0].display == q.SPANISH["team-decides"]


def test_a_parent_is_asked_about_the_patients_health_with_the_same_items() -> None:
    questionnaire = build_questionnaire()
    for lang, about in (("en", "Maya's health"), ("es", "la salud de Maya")):
        own = form_items(questionnaire, lang)
        family = for_family(own, lang, "Maya")
        assert family.keys() == own.keys()
        for link_id in (q.NUMBER_ONE_CONCERN, q.PARTNERING_STYLE, q.LEARNING_PREFERENCES):
            assert about in family[link_id].text, (lang, link_id)
            assert "Maya" not in own[link_id].text
        # Only the question's words change: the answers a parent chooses are the patient's.
        assert family[q.PARTNERING_STYLE].options == own[q.PARTNERING_STYLE].options
        assert family[q.OTHER_CONCERNS] == own[q.OTHER_CONCERNS]
    # A language without family words falls back to English, never to the patient's words.
    assert (
        "Maya's health"
        in for_family(form_items(questionnaire, "fr"), "fr", "Maya")[q.NUMBER_ONE_CONCERN].text
    )
