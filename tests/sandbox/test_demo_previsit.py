"""The demo's pre-visit answers: teens and parents, some with no concern, read by Flip."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fhir.resources.R4B import get_fhir_model_class

from ehr_sandbox.demo import build_demo_bundle
from ehr_sandbox.demo import previsit as demo_previsit
from fhir_mappings import codes
from fhir_mappings.questionnaire import LINK_IDS, build_questionnaire
from fhir_mappings.visit_model import Respondent
from fhir_mappings.visit_reading import read_visit

TODAY = date(2025, 3, 31)
CLINIC = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return build_demo_bundle(TODAY, tz=CLINIC)


def of_type(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def for_patient(
    resources: list[dict[str, Any]], patient_id: str, field: str
) -> list[dict[str, Any]]:
    return [r for r in resources if r[field]["reference"] == f"Patient/{patient_id}"]


def test_demo_repeats_flips_published_questionnaire_contract() -> None:
    repeated = {
        "questionnaire": demo_previsit.QUESTIONNAIRE,
        "partnering-style": demo_previsit.PARTNERING_STYLE,
        "learning-preference": demo_previsit.LEARNING_PREFERENCE,
        "respondent": demo_previsit.RESPONDENT,
    }
    questionnaire = build_questionnaire()
    assert repeated == {
        "questionnaire": f"{questionnaire['url']}|{questionnaire['version']}",
        "partnering-style": codes.partnering_style_system(),
        "learning-preference": codes.learning_preference_system(),
        "respondent": codes.respondent_system(),
    }


def test_demo_answers_are_valid_r4_from_teens_and_parents_within_five_days(
    bundle: dict[str, Any],
) -> None:
    responses = of_type(bundle, "QuestionnaireResponse")
    patients = of_type(bundle, "Patient")
    answered = {r["subject"]["reference"] for r in responses}
    assert len(patients) - 3 <= len(answered) < len(patients)  # most, not all
    authors = {r["author"]["reference"].split("/")[0] for r in responses}
    assert authors == {"Patient", "RelatedPerson"}
    for response in responses:
        get_fhir_model_class("QuestionnaireResponse").model_validate(response)
        assert response["status"] == "completed"
        assert {i["linkId"] for i in response["item"]} <= set(LINK_IDS)
        authored = datetime.fromisoformat(response["authored"])
        assert 1 <= (TODAY - authored.date()).days <= 5


def test_flip_reads_every_demo_answer_with_nothing_skipped(bundle: dict[str, Any]) -> None:
    responses = of_type(bundle, "QuestionnaireResponse")
    related = of_type(bundle, "RelatedPerson")
    encounters = {e["subject"]["reference"]: e for e in of_type(bundle, "Encounter")}
    seen = {}
    for patient in of_type(bundle, "Patient"):
        pid = patient["id"]
        inputs = read_visit(
            patient_id=pid,
            encounter=encounters.get(f"Patient/{pid}"),  # none yet for tomorrow's visits
            appointments=[],
            questionnaire_responses=for_patient(responses, pid, "subject"),
            related_persons=for_patient(related, pid, "patient"),
            observations=for_patient(of_type(bundle, "Observation"), pid, "subject"),
            document_references=[],
            care_plans=[],
            goals=[],
            visit_start=datetime.combine(TODAY, time(8, 0), CLINIC),
            window=timedelta(days=14),
            patient=patient,
        )
        assert inputs.skipped == 0, pid
        assert len(inputs.answers) == len(for_patient(responses, pid, "subject")), pid
        seen[pid.removeprefix("flip-demo-")] = inputs
    ada = seen["ada-lindqvist"]
    assert [a.author_display for a in ada.answers] == ["mom", "dad"]
    assert ada.answers[0].number_one_concern is not None
    assert "weight gain" in ada.answers[0].number_one_concern
    assert "weight gain" in ada.clinician_items[0].text
    tyler = seen["tyler-brooks"]
    assert [(a.author_display, a.respondent) for a in tyler.answers] == [
        ("Tyler", Respondent.PATIENT),
        ("mom", Respondent.PARENT),
    ]
    assert tyler.answers[0].number_one_concern != tyler.answers[1].number_one_concern
    assert seen["jack-oconnell"].answers[0].share_with_family is False
    lily = seen["lily-chen"].answers
    assert [(a.respondent, a.no_current_concern) for a in lily] == [
        (Respondent.PATIENT, True),
        (Respondent.PARENT, False),
    ]
    assert seen["sofia-haddad"].answers == ()
    rosa = seen["rosa-alvarez"]
    assert rosa.answers == () and rosa.preference is not None
    assert rosa.preference.source == "observation"
    marcus = seen["marcus-johnson"].preference
    assert marcus is not None and marcus.style == "research-and-bring-ideas"
    mia = seen["mia-thompson"].answers[0].number_one_concern
    assert mia is not None and "26" in mia


def test_the_care_experience_preference_follows_us_core(bundle: dict[str, Any]) -> None:
    (observation,) = [
        o for o in of_type(bundle, "Observation") if o["code"]["coding"][0]["code"] == "95541-9"
    ]
    assert observation["category"][0]["coding"][0] == {
        "system": codes.US_CORE_CATEGORY,
        "code": codes.CARE_EXPERIENCE_PREFERENCE_CATEGORY,
        "display": "Care Experience Preference",
    }
    assert observation["valueString"] and observation["status"] == "final"
