"""Property-based: arbitrary FHIR-shaped JSON never breaks read_visit, and skips are counted."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mappings.builders import (
    PATIENT_ID,
    appointment,
    encounter,
    flip_plan,
    goal,
    partnering_note,
    preference_observation,
    read,
    related_person,
    response,
)

LISTS = (
    "appointments",
    "questionnaire_responses",
    "related_persons",
    "observations",
    "document_references",
    "care_plans",
    "goals",
)
RESOURCE_TYPES = (
    "QuestionnaireResponse",
    "RelatedPerson",
    "Observation",
    "DocumentReference",
    "CarePlan",
    "Goal",
    "Encounter",
    "Appointment",
    "Patient",
)
FIELDS = (
    "id",
    "status",
    "subject",
    "author",
    "authored",
    "questionnaire",
    "item",
    "linkId",
    "answer",
    "valueString",
    "valueBoolean",
    "valueCoding",
    "reference",
    "patient",
    "relationship",
    "identifier",
    "code",
    "content",
    "attachment",
    "data",
    "activity",
    "detail",
    "reasonCode",
    "participant",
    "actor",
    "lifecycleStatus",
    "description",
    "effectiveDateTime",
    "date",
)
TEEN = f"Patient/{PATIENT_ID}"

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [TEEN, "completed", "active", "2025-11-01", "2025-11-01T09:00:00-04:00", "", "Patient/"]
    ),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=5),
    ),
    max_leaves=25,
)
fhir_shaped = st.builds(
    lambda resource_type, fields: {**fields, "resourceType": resource_type},
    st.sampled_from(RESOURCE_TYPES) | st.text(max_size=8),
    st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6),
)
# Values that are not even JSON objects with a resourceType: each is certainly skipped.
junk = st.one_of(scalars, st.lists(json_values, max_size=3))

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def valid_chart() -> dict[str, Any]:
    return {
        "encounter": encounter(["Weight gain and enzyme dosing"]),
        "appointments": [appointment("Quarterly CF visit")],
        "questionnaire_responses": [
            response("qr-teen", TEEN, 1, concern="Lacrosse travel", style="bring-questions"),
            response("qr-mom", "RelatedPerson/mom", 2, concern="worried about her weight gain"),
        ],
        "related_persons": [related_person("mom", "MTH")],
        "observations": [preference_observation("obs", "Likes to hear from her doctor", 3)],
        "document_references": [partnering_note("note", "Leads her own care", 4)],
        "care_plans": [flip_plan("plan", 30)],
        "goals": [goal("g1", "Keep FEV1 above 90%")],
    }


def total_inputs(chart: dict[str, Any]) -> int:
    return sum(len(chart[name]) for name in LISTS) + (chart["encounter"] is not None)


@SETTINGS
@given(st.fixed_dictionaries({name: st.lists(fhir_shaped, max_size=3) for name in LISTS}))
def test_fhir_shaped_noise_never_raises_and_skips_at_most_what_it_got(
    chart: dict[str, Any],
) -> None:
    inputs = read(**chart)
    assert 0 <= inputs.skipped <= total_inputs({**chart, "encounter": None})
    for answers in inputs.answers:
        assert answers.author == TEEN or answers.author.startswith("RelatedPerson/")


@SETTINGS
@given(st.fixed_dictionaries({name: st.lists(junk, max_size=3) for name in LISTS}), junk)
def test_values_that_are_not_resources_are_each_counted_as_skipped(
    chart: dict[str, Any], encounter_value: Any
) -> None:
    inputs = read(**chart, encounter=encounter_value)
    expected = total_inputs({**chart, "encounter": None}) + (encounter_value is not None)
    assert inputs.skipped == expected
    assert inputs.answers == () and inputs.preference is None
    assert inputs.clinician_items == ()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


@st.composite
def mutated_charts(draw: st.DrawFn) -> dict[str, Any]:
    chart = copy.deepcopy(valid_chart())
    for _ in range(draw(st.integers(1, 4))):
        name = draw(st.sampled_from((*LISTS, "encounter")))
        holder = chart[name] if name != "encounter" else [chart[name]]
        target = draw(st.sampled_from(holder))
        paths = _paths(target)
        path = draw(st.sampled_from(paths))
        parent = target
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return chart


@SETTINGS
@given(mutated_charts())
def test_mutations_of_a_valid_chart_never_raise(chart: dict[str, Any]) -> None:
    inputs = read(**chart)
    assert 0 <= inputs.skipped <= total_inputs(chart)
    assert len(inputs.answers) <= 2
    assert all(item.text.strip() for item in inputs.clinician_items)


def test_the_unmutated_chart_reads_whole_with_nothing_skipped() -> None:
    inputs = read(**valid_chart())
    assert [a.response_id for a in inputs.answers] == ["qr-teen", "qr-mom"]
    assert inputs.preference is not None and inputs.preference.source == "questionnaire"
    assert [i.origin for i in inputs.clinician_items] == [
        "last-plan-activity",
        "last-plan-activity",
        "last-plan-goal",
        "encounter-reason",
    ]
    assert inputs.skipped == 0
