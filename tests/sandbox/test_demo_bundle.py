"""The demo bundle: valid R4, the stories clinicians will recognise, visits today."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
import requests
from fhir.resources.R4B import get_fhir_model_class

from ehr_sandbox.demo import build_demo_bundle, demo_practitioner_id
from ehr_sandbox.demo.bundle import MRN_SYSTEM, birth_date
from tests.conftest import LiveSandbox

# A month end in a non-leap year, to catch date arithmetic slips.
TODAY = date(2025, 3, 31)
CF, CROHNS, UC = "190905008", "34000006", "64766004"


@pytest.fixture(scope="module")
def bundle() -> dict[str, Any]:
    return build_demo_bundle(TODAY)


def resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type
    ]


def age_on(birth: str, today: date) -> float:
    born = date.fromisoformat(birth)
    return (today - born).days / 365.25


def test_demo_bundle_every_resource_validates_as_r4(bundle: dict[str, Any]) -> None:
    get_fhir_model_class("Bundle").model_validate(bundle)
    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert bundle["type"] == "transaction"


def test_demo_bundle_puts_fixed_ids_so_loading_twice_does_not_duplicate(
    bundle: dict[str, Any],
) -> None:
    urls = [e["request"]["url"] for e in bundle["entry"]]
    assert {e["request"]["method"] for e in bundle["entry"]} == {"PUT"}
    assert len(urls) == len(set(urls))
    for entry in bundle["entry"]:
        resource = entry["resource"]
        assert entry["request"]["url"] == f"{resource['resourceType']}/{resource['id']}"
        assert resource["id"].startswith("flip-demo-")
    assert build_demo_bundle(TODAY) == bundle


def test_demo_bundle_has_a_cf_and_ibd_clinic_of_at_least_12_patients(
    bundle: dict[str, Any],
) -> None:
    patients = resources(bundle, "Patient")
    assert len(patients) >= 12
    for patient in patients:
        assert patient["identifier"][0]["system"] == MRN_SYSTEM
        assert patient["name"][0]["family"] and patient["gender"] and patient["birthDate"]
    codes = Counter(c["code"]["coding"][0]["code"] for c in resources(bundle, "Condition"))
    assert codes[CF] >= 6 and codes[CROHNS] >= 2 and codes[UC] >= 2
    assert {c["subject"]["reference"] for c in resources(bundle, "Condition")} == {
        f"Patient/{p['id']}" for p in patients
    }


def test_demo_bundle_has_an_infant_teens_with_parents_and_a_25_year_old(
    bundle: dict[str, Any],
) -> None:
    ages = {p["id"]: age_on(p["birthDate"], TODAY) for p in resources(bundle, "Patient")}
    assert any(age < 1 for age in ages.values())
    assert any(25 <= age < 26 for age in ages.values())
    parents = resources(bundle, "RelatedPerson")
    with_parent = {p["patient"]["reference"].removeprefix("Patient/") for p in parents}
    teens = {pid for pid, age in ages.items() if 13 <= age < 18}
    assert len(teens & with_parent) >= 2
    relationship_codes = {p["relationship"][0]["coding"][0]["code"] for p in parents}
    assert {"MTH", "FTH"} <= relationship_codes
    assert all(
        p["relationship"][0]["coding"][0]["system"]
        == "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
        for p in parents
    )


def test_demo_bundle_books_every_patient_today_with_an_encounter(bundle: dict[str, Any]) -> None:
    appointments = resources(bundle, "Appointment")
    encounters = {e["id"]: e for e in resources(bundle, "Encounter")}
    assert len(appointments) == len(resources(bundle, "Patient"))
    tomorrow = (TODAY + timedelta(days=1)).isoformat()
    today = [a for a in appointments if a["start"].startswith(TODAY.isoformat())]
    later = [a for a in appointments if a["start"].startswith(tomorrow)]
    assert len(today) >= 12 and len(later) == 2 and len(today) + len(later) == len(appointments)
    assert len(encounters) == len(today)  # tomorrow's patients have not checked in
    for appointment in appointments:
        assert appointment["status"] == "booked"
        assert appointment["reasonCode"][0]["text"]
        actors = {p["actor"]["reference"].split("/")[0] for p in appointment["participant"]}
        assert actors == {"Patient", "Practitioner"}
    for encounter in encounters.values():
        assert encounter["status"] in {"arrived", "in-progress"}
        assert encounter["class"]["code"] == "AMB"
        assert encounter["period"]["start"].startswith(TODAY.isoformat())
        appointment_id = encounter["appointment"][0]["reference"].removeprefix("Appointment/")
        assert appointment_id in {a["id"] for a in appointments}


def test_demo_bundle_has_the_care_team_and_measurements(bundle: dict[str, Any]) -> None:
    roles = {p["qualification"][0]["code"]["text"] for p in resources(bundle, "Practitioner")}
    assert {"Physician", "Nurse", "Respiratory therapist", "Dietitian", "Social worker"} <= roles
    physician = f"Practitioner/{demo_practitioner_id()}"
    assert physician in {f"Practitioner/{p['id']}" for p in resources(bundle, "Practitioner")}
    observations = resources(bundle, "Observation")
    by_code = Counter(o["code"]["coding"][0]["code"] for o in observations)
    assert by_code["29463-7"] >= 10 and by_code["20152-5"] >= 5
    weights = [o for o in observations if o["code"]["coding"][0]["code"] == "29463-7"]
    assert all(o["category"][0]["coding"][0]["code"] == "vital-signs" for o in weights)
    home = [o for o in observations if o.get("method", {}).get("text") == "Home spirometer"]
    assert len(home) >= 3


def test_birth_date_clamps_to_the_end_of_a_shorter_month() -> None:
    assert birth_date(date(2025, 3, 31), 0, 1) == date(2025, 2, 28)
    assert birth_date(date(2025, 3, 31), 25, 6) == date(1999, 9, 30)


def test_demo_bundle_loads_twice_into_the_sandbox_without_duplicates(
    sandbox: LiveSandbox,
) -> None:
    bundle = build_demo_bundle(date.today())
    for _ in range(2):
        answer = requests.post(
            sandbox.open_fhir_base,
            json=bundle,
            headers={"Content-Type": "application/fhir+json"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["type"] == "transaction-response"
    found = requests.get(
        f"{sandbox.open_fhir_base}/Patient", params={"_count": "100"}, timeout=5
    ).json()
    assert len(found["entry"]) == len(resources(bundle, "Patient"))
    tyler = requests.get(f"{sandbox.open_fhir_base}/Patient/flip-demo-tyler-brooks", timeout=5)
    assert tyler.json()["name"][0]["given"] == ["Tyler"]
