"""Parents as proxies: a RelatedPerson's token reaches the child's record, minus what the
teen asked to keep private (v3-Confidentiality R), over real HTTP with real sign-ins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

from fhir_mappings.plan_model import AgendaOutcome, AgreedPlan, PlanGoal
from fhir_mappings.writeback import plan_writes
from flip_cli.sandbox import request_portal_url
from tests.sandbox.conftest import SmartFlow
from tests.sandbox.portal_support import (
    PORTAL_SCOPE,
    TEEN_OPEN,
    TEEN_SECRET,
    fhir,
    hidden_fields,
    id_token_claims,
    ids,
    portal_token,
)


def test_a_parent_signs_in_as_related_person_with_the_child_as_patient(family: SmartFlow) -> None:
    token = portal_token(family, "RelatedPerson/rp1")
    assert token["patient"] == "p1"
    claims = id_token_claims(family, token)
    assert claims["fhirUser"] == f"{family.sandbox.fhir_base}/RelatedPerson/rp1"
    assert claims["sub"] == "RelatedPerson/rp1"


def test_a_parent_reaches_the_childs_record_and_no_one_elses(family: SmartFlow) -> None:
    token = portal_token(family, "RelatedPerson/rp1")
    assert fhir(family, token, "GET", "Patient/p1").status_code == 200
    assert fhir(family, token, "GET", "RelatedPerson/rp1").status_code == 200
    assert fhir(family, token, "GET", "Observation/weight-p1").status_code == 200
    assert fhir(family, token, "GET", "Patient/p2").status_code == 403
    assert fhir(family, token, "GET", "Observation/weight-p2").status_code == 403
    found = fhir(family, token, "GET", "Observation").json()
    assert ids(found) == {"weight-p1"}
    other = fhir(family, token, "GET", "Observation", params={"patient": "p2"}).json()
    assert ids(other) == set()


def test_a_restricted_answer_is_withheld_from_the_parent(family: SmartFlow) -> None:
    token = portal_token(family, "RelatedPerson/rp1")
    read = fhir(family, token, "GET", f"QuestionnaireResponse/{TEEN_SECRET}")
    assert read.status_code == 403
    assert read.json()["resourceType"] == "OperationOutcome"
    assert "restricted" in read.json()["issue"][0]["diagnostics"]
    search = fhir(family, token, "GET", "QuestionnaireResponse", params={"patient": "p1"}).json()
    assert ids(search) == {TEEN_OPEN}
    assert search["total"] == 1  # the count does not give the private answer away
    by_id = fhir(family, token, "GET", "QuestionnaireResponse", params={"_id": TEEN_SECRET})
    assert by_id.json()["total"] == 0


def test_a_restricted_answer_is_withheld_inside_a_batch(family: SmartFlow) -> None:
    token = portal_token(family, "RelatedPerson/rp1")
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "QuestionnaireResponse?patient=p1"}},
            {"request": {"method": "GET", "url": f"QuestionnaireResponse/{TEEN_SECRET}"}},
            {"request": {"method": "GET", "url": f"QuestionnaireResponse/{TEEN_OPEN}"}},
        ],
    }
    answer = fhir(family, token, "POST", "", json=batch)
    assert answer.status_code == 200, answer.text
    search, secret, open_answer = answer.json()["entry"]
    assert ids(search["resource"]) == {TEEN_OPEN}
    assert secret["response"]["status"].startswith("403")
    assert "resource" not in secret
    assert open_answer["resource"]["id"] == TEEN_OPEN
    assert TEEN_SECRET not in answer.text


def test_the_teen_and_the_clinician_still_see_the_restricted_answer(family: SmartFlow) -> None:
    teen = portal_token(family, "Patient/p1")
    clinician = family.ehr_token(scope="launch patient/*.rs", practitioner="dr1")
    clinician_everywhere = family.ehr_token(scope="launch user/*.rs", practitioner="dr1")
    for token in (teen, clinician, clinician_everywhere):
        read = fhir(family, token, "GET", f"QuestionnaireResponse/{TEEN_SECRET}")
        assert read.status_code == 200, read.text
        found = fhir(family, token, "GET", "QuestionnaireResponse", params={"patient": "p1"})
        assert ids(found.json()) == {TEEN_SECRET, TEEN_OPEN}


def test_a_parent_cannot_overwrite_a_restricted_answer(family: SmartFlow) -> None:
    token = portal_token(family, "RelatedPerson/rp1")
    body = {
        "resourceType": "QuestionnaireResponse",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "author": {"reference": "RelatedPerson/rp1"},
    }
    path = f"QuestionnaireResponse/{TEEN_SECRET}"
    secret = fhir(family, token, "PUT", path, json={**body, "id": TEEN_SECRET})
    assert secret.status_code == 403
    assert secret.json()["resourceType"] == "OperationOutcome"
    teen = portal_token(family, "Patient/p1")
    unchanged = fhir(family, teen, "GET", f"QuestionnaireResponse/{TEEN_SECRET}").json()
    assert unchanged["author"] == {"reference": "Patient/p1"}
    assert unchanged["meta"]["versionId"] == "1"
    mine = fhir(family, token, "POST", "QuestionnaireResponse", json=body)
    assert mine.status_code == 201, mine.text  # the parent still writes their own answers


def test_a_user_scope_asked_as_a_patient_grants_only_patient_access(family: SmartFlow) -> None:
    token = portal_token(family, "Patient/p1", scope=f"{PORTAL_SCOPE} user/*.rs")
    assert "user/*.rs" not in token["scope"].split()
    assert "patient/*.cruds" in token["scope"].split()
    assert fhir(family, token, "GET", "Patient/p2").status_code == 403
    assert ids(fhir(family, token, "GET", "Observation").json()) == {"weight-p1"}


def test_the_consent_page_offers_a_portal_user_only_patient_scopes(family: SmartFlow) -> None:
    url = request_portal_url("RelatedPerson/rp1", sandbox_url=family.sandbox.url, ask_consent=True)
    family.http.get(url, allow_redirects=False, timeout=5)
    consent = family.authorize(scope=f"{PORTAL_SCOPE} user/*.rs")
    assert consent.status_code == 200, consent.text  # signed in: straight to consent
    assert 'data-scope="patient/*.cruds"' in consent.text
    assert 'data-scope="user/*.rs"' not in consent.text
    assert 'data-withheld-scope="user/*.rs"' in consent.text
    assert "Grace Family, mother of Ada Jones" in consent.text


def test_the_login_page_lists_parents_and_signs_one_in(family: SmartFlow) -> None:
    start = family.authorize(scope=PORTAL_SCOPE)
    login = family.http.get(urljoin(family.sandbox.url, start.headers["Location"]), timeout=5)
    assert 'value="RelatedPerson/rp1"' in login.text
    assert "Grace Family, mother of Ada Jones" in login.text
    assert "Obi Family, father of Ben Okafor" in login.text
    signed_in = family.http.post(
        f"{family.sandbox.url}/auth/login",
        data={**hidden_fields(login.text), "user": "RelatedPerson/rp2"},
        allow_redirects=False,
        timeout=5,
    )
    consent = family.http.get(urljoin(family.sandbox.url, signed_in.headers["Location"]), timeout=5)
    allowed = family.http.post(
        f"{family.sandbox.url}/auth/authorize",
        data={**hidden_fields(consent.text), "decision": "allow"},
        allow_redirects=False,
        timeout=5,
    )
    token = family.exchange(family.code_from(allowed)).json()
    assert token["patient"] == "p2"
    assert id_token_claims(family, token)["fhirUser"].endswith("/RelatedPerson/rp2")


def test_a_plan_carrying_a_teens_private_words_is_withheld_from_the_parent(
    family: SmartFlow,
) -> None:
    plan = AgreedPlan(
        plan_id="plan-1",
        patient_id="p1",
        encounter_id=None,
        practitioner_ref="Practitioner/dr1",
        items=(),
        goals=(PlanGoal("Play the whole season"),),
        follow_up=None,
        partnering_note=None,
        outcomes=(AgendaOutcome("Sleepovers without my vest", "patient", "addressed", None, True),),
        something_else_asked=True,
        something_else_added=(),
        visit_start=datetime(2026, 12, 1, 15, tzinfo=UTC),
        finished_at=datetime(2026, 12, 1, 15, 20, tzinfo=UTC),
    )
    written = {w.key: w.resource for w in plan_writes(plan)}
    family.seed("CarePlan", "plan-private", **_without_type(written["careplan"]))
    family.seed("Goal", "goal-open", **_without_type(written["goal-0"]))
    token = portal_token(family, "RelatedPerson/rp1")
    assert fhir(family, token, "GET", "CarePlan/plan-private").status_code == 403
    assert fhir(family, token, "GET", "Goal/goal-open").status_code == 200
    assert ids(fhir(family, token, "GET", "CarePlan", params={"patient": "p1"}).json()) == set()
    teen = portal_token(family, "Patient/p1")
    assert fhir(family, teen, "GET", "CarePlan/plan-private").status_code == 200


def _without_type(resource: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k not in ("resourceType", "id")}
