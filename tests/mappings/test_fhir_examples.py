"""Official FHIR R4 examples: not Flip's data, so skipped or mapped sensibly, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class

from tests.mappings.builders import read

EXAMPLES = Path(__file__).parents[1] / "fixtures" / "fhir-examples"


def example(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text("utf-8"))
    return loaded


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_every_example_validates_as_r4(path: Path) -> None:
    resource = json.loads(path.read_text("utf-8"))
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_the_example_questionnaire_response_is_not_flips_and_is_skipped() -> None:
    inputs = read(questionnaire_responses=[example("questionnaireresponse-example")])
    assert inputs.answers == ()
    assert inputs.skipped == 1


def test_the_example_response_as_the_patients_own_is_still_not_flips() -> None:
    response = example("questionnaireresponse-example")
    response["subject"] = {"reference": "Patient/teen-1"}
    response["questionnaire"] = "http://hl7.org/fhir/Questionnaire/3141"
    inputs = read(questionnaire_responses=[response], patient=None)
    assert inputs.answers == () and inputs.skipped == 1


def test_the_example_related_person_of_another_patient_is_skipped() -> None:
    inputs = read(related_persons=[example("relatedperson-example-peter")])
    assert inputs.skipped == 1


def test_the_example_care_plan_observation_and_note_are_ordinary_chart_data() -> None:
    inputs = read(
        care_plans=[example("careplan-example-f001-heart")],
        observations=[example("observation-example")],
        document_references=[example("documentreference-example")],
    )
    assert inputs.clinician_items == ()
    assert inputs.preference is None
    assert inputs.skipped == 0


def test_the_example_care_plan_as_flips_own_maps_its_open_activity() -> None:
    plan = example("careplan-example-f001-heart")
    plan["identifier"].append({"system": "https://flip.example.org/fhir/identifier", "value": "p"})
    plan["subject"] = {"reference": "Patient/teen-1"}
    plan["status"] = "active"
    plan["activity"][0]["detail"]["status"] = "scheduled"
    (item,) = read(care_plans=[plan]).clinician_items
    assert item.text == "Operation on heart"
    assert item.codes == frozenset({"http://snomed.info/sct|64915003"})
    assert item.key == "CarePlan/f001#activity-0"
