"""The chart searches of a visit page and of a patient's partnering notes.

Each is bounded in pages (`MAX_PAGES` of `SEARCH_COUNT`), so a chart with years of
answers or hundreds of goals costs a bounded number of round trips; the page says which
reads stopped early (gateway `cut_short`), so the clinician knows the rest is in the chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from fhir_mappings import codes
from launch.context import LaunchContext
from launch.gateway import SearchRequest

SEARCH_COUNT = "50"
# At most this many pages of each search: 200 of each kind at SEARCH_COUNT.
MAX_PAGES = 4
# The care team's partnering-notes view looks back this far for pre-visit answers.
HISTORY_WINDOW = timedelta(days=365)

# The searches of a visit, by name, in the order they go out.
VISIT_SEARCHES = (
    "patient",
    "user",
    "encounter",
    "appointments",
    "responses",
    "related_persons",
    "observations",
    "notes",
    "care_plans",
    "goals",
)


def visit_searches(
    context: LaunchContext,
    canonical_base: str,
    window: timedelta,
    patient_id: str | None = None,
    *,
    team: Sequence[str] = (),
) -> dict[str, SearchRequest]:
    """A visit's searches by name: the launch's patient, or `patient_id`; `team` is the
    Practitioner ids whose names the page shows."""
    patient = patient_id or context.patient or ""
    since = (datetime.now(UTC) - window - timedelta(days=1)).date().isoformat()
    today = datetime.now(UTC).date()
    identifier = f"{codes.identifier_system(canonical_base)}|"
    return {
        "patient": SearchRequest("Patient", {"_id": patient}),
        # The signed-in clinician and who changed the agenda, so the plan and the page
        # can name who finished it and who changed each line.
        "user": SearchRequest("Practitioner", {"_id": ",".join(team) or "none"}, optional=True),
        "encounter": SearchRequest(
            "Encounter", {"_id": context.encounter or "none", "patient": patient}
        ),
        "appointments": SearchRequest(
            "Appointment",
            [
                ("patient", patient),
                ("date", f"ge{(today - timedelta(days=1)).isoformat()}"),
                ("date", f"le{(today + timedelta(days=1)).isoformat()}"),
            ],
            optional=True,
        ),
        "responses": SearchRequest(
            "QuestionnaireResponse",
            {"patient": patient, "authored": f"ge{since}", "_count": SEARCH_COUNT},
            optional=True,
        ),
        "related_persons": SearchRequest("RelatedPerson", {"patient": patient}, optional=True),
        "observations": SearchRequest(
            "Observation",
            {"patient": patient, "code": f"{codes.LOINC}|{codes.CARE_EXPERIENCE_PREFERENCE}"},
            optional=True,
        ),
        "notes": SearchRequest(
            "DocumentReference",
            {"patient": patient, "identifier": identifier, "_count": SEARCH_COUNT},
            optional=True,
        ),
        "care_plans": SearchRequest(
            "CarePlan",
            {"patient": patient, "identifier": identifier, "status": "active"},
            optional=True,
        ),
        "goals": SearchRequest(
            "Goal",
            {"patient": patient, "lifecycle-status": "active", "_count": SEARCH_COUNT},
            optional=True,
        ),
    }


def history_searches(
    context: LaunchContext, canonical_base: str, patient_id: str
) -> list[SearchRequest]:
    """The searches of a patient's partnering notes: patient, family, a year of answers,
    recorded preferences and partnering notes."""
    named = visit_searches(context, canonical_base, HISTORY_WINDOW, patient_id)
    return [
        named[name] for name in ("patient", "related_persons", "responses", "observations", "notes")
    ]
