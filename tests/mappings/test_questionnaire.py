"""Flip's published Questionnaire and CodeSystems: valid R4, the linkId contract kept."""

from __future__ import annotations

from fhir.resources.R4B.codesystem import CodeSystem
from fhir.resources.R4B.questionnaire import Questionnaire

from fhir_mappings import codes
from fhir_mappings.questionnaire import (
    LINK_IDS,
    build_code_systems,
    build_questionnaire,
    learning_preference_display,
    partnering_style_display,
    respondent_display,
)


def test_questionnaire_validates_as_r4_with_the_public_link_ids() -> None:
    questionnaire = build_questionnaire()
    Questionnaire.model_validate(questionnaire)
    assert questionnaire["url"] == "https://flip.example.org/fhir/Questionnaire/flip-previsit"
    assert questionnaire["version"] == "1.1.0" and questionnaire["status"] == "active"
    assert [item["linkId"] for item in questionnaire["item"]] == [
        "number-one-concern",
        "no-current-concern",
        "other-concerns",
        "partnering-style",
        "learning-preferences",
        "language",
        "respondent",
        "respondent-name",
        "share-with-family",
    ]
    assert tuple(item["linkId"] for item in questionnaire["item"]) == LINK_IDS


def test_the_name_of_someone_else_is_asked_only_of_someone_else() -> None:
    items = {item["linkId"]: item for item in build_questionnaire()["item"]}
    name = items["respondent-name"]
    assert (name["type"], name["maxLength"]) == ("string", 100)
    (condition,) = name["enableWhen"]
    assert condition["question"] == "respondent" and condition["operator"] == "="
    assert condition["answerCoding"]["code"] == "other"
    # Its answer is one of the respondent item's own options (a form filler enables it).
    offered = [
        (o["valueCoding"]["system"], o["valueCoding"]["code"])
        for o in items["respondent"]["answerOption"]
    ]
    assert (condition["answerCoding"]["system"], "other") in offered


def test_questionnaire_asks_the_clinic_question_and_types_each_answer() -> None:
    items = {item["linkId"]: item for item in build_questionnaire()["item"]}
    assert items["number-one-concern"]["text"].startswith(
        "Currently, what is your number ONE concern or goal"
    )
    assert "no current concerns or goals" in items["number-one-concern"]["text"]
    assert items["no-current-concern"]["type"] == "boolean"
    assert items["other-concerns"]["repeats"] is True
    assert items["learning-preferences"]["repeats"] is True
    assert "repeats" not in items["partnering-style"]
    assert items["share-with-family"]["initial"] == [{"valueBoolean": True}]
    spectrum = [o["valueCoding"]["display"] for o in items["partnering-style"]["answerOption"]]
    assert spectrum[0] == "I prefer my care team to decide"
    assert spectrum[-1] == "I research and bring ideas, and we decide together"
    assert len(spectrum) == 5


def test_questionnaire_and_code_systems_live_under_a_site_base() -> None:
    base = "https://cf-clinic.example.net/fhir/"
    questionnaire = build_questionnaire(base)
    assert questionnaire["url"] == "https://cf-clinic.example.net/fhir/Questionnaire/flip-previsit"
    systems = build_code_systems(base)
    for system in systems:
        CodeSystem.model_validate(system)
        assert system["url"].startswith("https://cf-clinic.example.net/fhir/CodeSystem/")
        assert system["count"] == len(system["concept"])
    options = {
        o["valueCoding"]["system"]
        for item in questionnaire["item"]
        for o in item.get("answerOption", [])
    }
    assert options == {s["url"] for s in systems}


def test_displays_name_each_code_and_none_for_unknown_ones() -> None:
    assert partnering_style_display("team-decides") == "I prefer my care team to decide"
    assert learning_preference_display("pictures-or-video") == "Show me pictures or video"
    assert respondent_display("parent") == "A parent or guardian"
    assert partnering_style_display("made-up") is None


def test_codes_keep_standard_systems_and_flip_urls_under_the_base() -> None:
    assert codes.CARE_EXPERIENCE_PREFERENCE == "95541-9"
    assert codes.US_CORE_CATEGORY == "http://hl7.org/fhir/us/core/CodeSystem/us-core-category"
    assert codes.identifier_system("https://x.example/fhir/") == "https://x.example/fhir/identifier"
    assert codes.partnering_style_system() == (
        "https://flip.example.org/fhir/CodeSystem/partnering-style"
    )
