"""FHIR search over real HTTP: paging, sorting, dates, tokens, references, strings."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from ehr_sandbox.fhir.search import search_resources
from tests.conftest import LiveSandbox, sandbox_state

LOINC = "http://loinc.org"


def create(base: str, resource: dict[str, Any]) -> dict[str, Any]:
    response = requests.post(f"{base}/{resource['resourceType']}", json=resource, timeout=10)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def search(base: str, path: str, **params: str) -> dict[str, Any]:
    response = requests.get(f"{base}/{path}", params=params, timeout=10)
    assert response.status_code == 200, response.text
    bundle: dict[str, Any] = response.json()
    assert bundle["type"] == "searchset"
    return bundle


def ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def observation(patient_id: str, code: str, when: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "category": [{"coding": [{"system": "urn:cat", "code": "vital-signs"}]}],
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": when,
        **extra,
    }


@pytest.fixture
def chart(sandbox: LiveSandbox) -> dict[str, Any]:
    """Two patients; the first has three weight/height Observations on different days."""
    base = sandbox.open_fhir_base
    ana = create(
        base, {"resourceType": "Patient", "name": [{"family": "Rivera", "given": ["Ana"]}]}
    )
    ben = create(
        base, {"resourceType": "Patient", "name": [{"family": "Okafor", "given": ["Ben"]}]}
    )
    obs = [
        create(base, observation(ana["id"], "29463-7", "2024-03-10T09:00:00Z")),
        create(base, observation(ana["id"], "8302-2", "2024-05-01")),
        create(base, observation(ana["id"], "29463-7", "2024-01-20T15:30:00+01:00")),
        create(base, observation(ben["id"], "29463-7", "2024-04-04")),
    ]
    return {"base": base, "ana": ana["id"], "ben": ben["id"], "obs": [o["id"] for o in obs]}


def test_fhir_search_pages_with_count_next_and_total(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    created = {
        create(base, {"resourceType": "Patient", "name": [{"family": f"Page{i}"}]})["id"]
        for i in range(7)
    }
    bundle = search(base, "Patient", _count="3")
    seen: list[str] = []
    pages = 0
    while True:
        pages += 1
        assert bundle["total"] == 7
        seen += ids(bundle)
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        if not following:
            break
        assert following[0].startswith(f"{base}/Patient?")
        bundle = requests.get(following[0], timeout=10).json()
    assert pages == 3
    assert sorted(seen) == sorted(created)


def test_fhir_search_default_page_is_fifty(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    entries = [
        {"resource": {"resourceType": "Device"}, "request": {"method": "POST", "url": "Device"}}
        for _ in range(55)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    assert requests.post(base, json=bundle, timeout=30).status_code == 200
    page = search(base, "Device")
    assert (page["total"], len(page["entry"])) == (55, 50)


def test_fhir_search_sorts_on_dates_both_ways(chart: dict[str, Any]) -> None:
    base, (march, may, january, _) = chart["base"], chart["obs"]
    ascending = search(base, "Observation", patient=chart["ana"], _sort="date")
    descending = search(base, "Observation", patient=chart["ana"], _sort="-date")
    assert ids(ascending) == [january, march, may]
    assert ids(descending) == [may, march, january]
    by_update = search(base, "Observation", patient=chart["ana"], _sort="-_lastUpdated")
    assert ids(by_update) == [january, may, march]


def test_fhir_search_date_prefixes(chart: dict[str, Any]) -> None:
    base, (march, may, january, _) = chart["base"], chart["obs"]

    def found(value: str) -> set[str]:
        return set(ids(search(base, "Observation", patient=chart["ana"], date=value)))

    assert found("2024-03-10") == {march}
    assert found("eq2024-05") == {may}
    assert found("ge2024-03-10") == {march, may}
    assert found("gt2024-03-10") == {may}
    assert found("lt2024-03-10") == {january}
    assert found("le2024-03") == {january, march}
    # 15:30 at +01:00 is 14:30 UTC: inside the UTC day of 2024-01-20.
    assert found("2024-01-20T14:30:00Z") == {january}


def test_fhir_search_tokens_with_and_without_system(chart: dict[str, Any]) -> None:
    base, (march, may, january, ben_weight) = chart["base"], chart["obs"]
    assert set(ids(search(base, "Observation", code="29463-7"))) == {march, january, ben_weight}
    assert set(ids(search(base, "Observation", code=f"{LOINC}|8302-2"))) == {may}
    assert ids(search(base, "Observation", code="urn:other|8302-2")) == []
    either = search(base, "Observation", patient=chart["ana"], code="8302-2,29463-7")
    assert either["total"] == 3
    assert search(base, "Observation", category="urn:cat|vital-signs")["total"] == 4


def test_fhir_search_references_by_id_and_type_id(chart: dict[str, Any]) -> None:
    base, ana, ben = chart["base"], chart["ana"], chart["ben"]
    assert search(base, "Observation", subject=ana)["total"] == 3
    assert search(base, "Observation", subject=f"Patient/{ana}")["total"] == 3
    assert search(base, "Observation", patient=f"Patient/{ben}")["total"] == 1
    assert search(base, "Observation", patient=f"{ana},{ben}")["total"] == 4
    assert search(base, "Observation", subject="Patient/nobody")["total"] == 0


def test_fhir_search_patient_name_is_case_insensitive_prefix(chart: dict[str, Any]) -> None:
    base = chart["base"]
    assert ids(search(base, "Patient", name="riv")) == [chart["ana"]]
    assert ids(search(base, "Patient", name="BEN")) == [chart["ben"]]
    assert search(base, "Patient", name="vera")["total"] == 0
    assert ids(search(base, "Patient", _id=chart["ben"])) == [chart["ben"]]


def test_fhir_search_post_form_matches_get(chart: dict[str, Any]) -> None:
    response = requests.post(
        f"{chart['base']}/Observation/_search",
        data={"patient": chart["ana"], "code": "29463-7"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["total"] == 2


def test_fhir_search_unknown_parameter_is_400_unless_lenient(chart: dict[str, Any]) -> None:
    url = f"{chart['base']}/Observation"
    strict = requests.get(url, params={"flavour": "x"}, timeout=10)
    assert strict.status_code == 400
    assert "flavour" in strict.json()["issue"][0]["diagnostics"]
    lenient = requests.get(
        url, params={"flavour": "x"}, headers={"Prefer": "handling=lenient"}, timeout=10
    )
    assert lenient.status_code == 200
    assert lenient.json()["total"] == 4
    bad_date = requests.get(url, params={"date": "ge-tuesday"}, timeout=10)
    assert bad_date.status_code == 400
    assert bad_date.json()["resourceType"] == "OperationOutcome"


def test_fhir_search_questionnaire_responses_by_canonical_and_author(
    sandbox: LiveSandbox,
) -> None:
    base = sandbox.open_fhir_base
    kid = create(base, {"resourceType": "Patient"})["id"]
    parent = create(
        base, {"resourceType": "RelatedPerson", "patient": {"reference": f"Patient/{kid}"}}
    )["id"]
    response = create(
        base,
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "questionnaire": "https://flip.example/Questionnaire/agenda|1.0",
            "subject": {"reference": f"Patient/{kid}"},
            "author": {"reference": f"RelatedPerson/{parent}"},
            "authored": "2024-06-01T08:00:00Z",
        },
    )
    found = search(
        base,
        "QuestionnaireResponse",
        patient=kid,
        questionnaire="https://flip.example/Questionnaire/agenda",
        author=f"RelatedPerson/{parent}",
        authored="ge2024-06-01",
        status="completed",
    )
    assert ids(found) == [response["id"]]
    assert ids(search(base, "RelatedPerson", patient=kid)) == [parent]


def test_fhir_search_resources_lists_a_days_appointments_for_pages(sandbox: LiveSandbox) -> None:
    base = sandbox.open_fhir_base
    kid = create(base, {"resourceType": "Patient"})["id"]

    def appointment(start: str) -> str:
        resource = {
            "resourceType": "Appointment",
            "status": "booked",
            "start": start,
            "end": start.replace(":00:00", ":30:00"),
            "participant": [{"actor": {"reference": f"Patient/{kid}"}, "status": "accepted"}],
        }
        return str(create(base, resource)["id"])

    today = [appointment("2024-06-03T15:00:00Z"), appointment("2024-06-03T09:00:00Z")]
    appointment("2024-06-04T09:00:00Z")
    with sandbox_state(sandbox.app).db.session() as session:
        found = search_resources(
            session, "Appointment", [("date", "2024-06-03"), ("_sort", "date")]
        )
        mine = search_resources(session, "Appointment", [("actor", kid)], patient_id=kid)
    assert [a["id"] for a in found] == list(reversed(today))
    assert len(mine) == 3


def test_fhir_search_narrowed_by_text_still_finds_every_exact_match(sandbox: LiveSandbox) -> None:
    """Token and reference searches are narrowed in SQL by the wanted text; the narrowing
    never loses a match, whatever the JSON escapes, and never admits a near miss."""
    base = sandbox.open_fhir_base
    system = "https://flip.example/id"
    values = ["careplan/1", "careplan/10", "Careplan/1", 'odd "quoted" \\ value', "niño/ü"]
    made = {
        value: create(
            base,
            {
                "resourceType": "Goal",
                "lifecycleStatus": "active",
                "description": {"text": "A goal"},
                "subject": {"reference": "Patient/p-narrow"},
                "identifier": [{"system": system, "value": value}],
            },
        )["id"]
        for value in values
    }
    for value, goal_id in made.items():
        assert ids(search(base, "Goal", identifier=f"{system}|{value}")) == [goal_id], value
    assert search(base, "Goal", identifier=f"{system}|")["total"] == len(values)
    assert search(base, "Goal", identifier="|careplan/1")["total"] == 0  # no system: none
    both = search(base, "Goal", identifier=f"{system}|careplan/1,{system}|niño/ü")
    assert set(ids(both)) == {made["careplan/1"], made["niño/ü"]}
    assert search(base, "Goal", **{"lifecycle-status": "active"})["total"] == len(values)
    # A reference written as an absolute URL matches a relative search.
    target = made["careplan/1"]
    provenance = {
        "resourceType": "Provenance",
        "target": [{"reference": f"{base}/Goal/{target}"}],
        "recorded": "2024-05-01T10:00:00Z",
        "agent": [{"who": {"reference": "Practitioner/dr1"}}],
    }
    written = create(base, provenance)["id"]
    assert ids(search(base, "Provenance", target=f"Goal/{target}")) == [written]
    assert ids(search(base, "Provenance", target=target)) == [written]
    assert search(base, "Provenance", target=f"Goal/{target}0")["total"] == 0
