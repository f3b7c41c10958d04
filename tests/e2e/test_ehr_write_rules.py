"""Finishing a visit on each sandbox profile: Flip keeps to the EHR's write rules, decided
from its CapabilityStatement, and the plan always reaches the chart exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from fhir_mappings import codes
from tests.e2e.conftest import family_chart, launch
from tests.e2e.test_plan import PLAN, close_agenda, flip_resources, wait_written

PLAN_OF_CARE_NOTE = "18776-5"


def _loinc_type(note: dict[str, object]) -> set[str]:
    codings = note.get("type", {}).get("coding", [])  # type: ignore[union-attr]
    return {c.get("code") for c in codings if c.get("system") == codes.LOINC}


@pytest.mark.parametrize(
    ("profile", "refused"),
    [
        # Epic: no CarePlan, Goal or Provenance create; Observation create for vitals only.
        ("epic-like", {"Observation"}),
        # Oracle Health: CarePlan and Goal read-only; Observation for vitals and labs only.
        ("oracle-like", {"Observation"}),
    ],
)
def test_the_plan_reaches_a_vendor_like_chart_once_as_notes(
    database_url: str, tmp_path: Path, profile: str, refused: set[str]
) -> None:
    with family_chart(database_url, tmp_path, profile=profile) as ehr:
        visit = launch(ehr)
        close_agenda(visit)
        assert visit.send("POST", "/visit/plan", PLAN).status_code == 202
        assert visit.send("POST", "/visit/plan", PLAN).status_code == 202  # a double click
        status = wait_written(visit)
        assert status["state"] == "written", status
        not_taken = {r["resource_type"] for r in status["resources"] if r["status"] == "not-taken"}
        assert not_taken == refused
        assert "The EHR does not take: Observation" in status["message"]
        notes = flip_resources(ehr, "DocumentReference")
        # The plan as a Plan of care note, and the partnering note: each once.
        assert len(notes) == 2
        assert sum(PLAN_OF_CARE_NOTE in _loinc_type(n) for n in notes) == 1
        assert flip_resources(ehr, "CarePlan") == []
        assert flip_resources(ehr, "Goal") == []
        # Provenance carries no identifier: in this fresh chart, every one is Flip's.
        provenances = requests.get(f"{ehr.sandbox.open_fhir_base}/Provenance", timeout=10).json()
        provenances = [e["resource"] for e in provenances.get("entry", [])]
        assert all(r["status"] != "failed" for r in status["resources"])
        if profile == "oracle-like":  # Oracle Health takes Provenance create; Epic does not
            attested = {
                r["key"]: r["status"]
                for r in status["resources"]
                if r["resource_type"] == "Provenance"
            }
            # One per written note; the refused Observation's has nothing to attest.
            assert attested == {
                "provenance:plan-note": "written",
                "provenance:partnering-note": "written",
                "provenance:preference": "skipped",
            }
            assert len(provenances) == 2
        else:
            assert provenances == []
