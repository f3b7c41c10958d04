"""Finishing the visit: keep what was typed, check the agenda is closed, hand the plan on.

The plan goes to the outbox (committed before the first attempt; see smart_app/outbox.py),
which writes it to the chart exactly once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from fhir_mappings.plan_model import AgreedPlan
from smart_app import audit
from smart_app.agenda_api import InvalidRequest
from smart_app.drafts import DraftStore
from smart_app.launches import OpenLaunch
from smart_app.plan import agreed_plan, check_closed, parse_plan, plan_id_for
from smart_app.visit import VisitReader

REFLECTION_QUESTIONS = {
    "flexible": "Did I allow my role to be flexible?",
    "questions": "Did I ask enough questions?",
    "courage": "Did I have the courage to be uncomfortable?",
}
MAX_REFLECTION = 2000


class PlanWriter(Protocol):
    """The outbox, as closing the visit uses it."""

    def submit(self, opened: OpenLaunch, plan: AgreedPlan) -> Any:
        """Commit the plan's writes and start writing; the write-back status."""
        ...

    def status(self, plan_id: str) -> Any:
        """The write-back status of a plan, or None when it was never submitted."""
        ...


def finish_visit(
    reader: VisitReader, drafts: DraftStore, writer: PlanWriter, opened: OpenLaunch, body: Any
) -> Any:
    """Check and submit the plan; the draft keeps the form whatever happens."""
    key = reader.draft_key()
    if isinstance(body, dict):
        drafts.change(key, lambda draft: replace(draft, plan_form=body))
    request = parse_plan(body)
    visit = reader.load()
    check_closed(visit.agenda)
    plan = agreed_plan(request, key=key, agenda=visit.agenda, visit_start=visit.visit_start)
    status = writer.submit(opened, plan)
    audit.record(
        user=key.user_ref, patient=key.patient, action="submit-plan", resource_ids=[plan.plan_id]
    )
    return status


def writeback_status(reader: VisitReader, writer: PlanWriter) -> Any:
    """The write-back status of this visit's plan, or None."""
    return writer.status(plan_id_for(reader.draft_key()))


def save_reflection(reader: VisitReader, drafts: DraftStore, body: Any) -> dict[str, str]:
    """Keep the clinician's private reflection in their draft; never written to the chart."""
    if not isinstance(body, dict):
        raise InvalidRequest('Send an object: {"flexible": "...", "questions": "...", ...}.')
    reflection: dict[str, str] = {}
    for name in (*REFLECTION_QUESTIONS, "notes"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or len(value) > MAX_REFLECTION:
            raise InvalidRequest(f'"{name}" must be text of at most {MAX_REFLECTION} characters.')
        reflection[name] = value
    drafts.change(reader.draft_key(), lambda draft: replace(draft, reflection=reflection))
    return reflection
