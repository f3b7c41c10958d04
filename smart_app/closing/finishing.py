"""Finishing the visit: keep what was typed, check the agenda is closed, hand the plan on.

The plan goes to the outbox (committed before the first attempt; see
smart_app/closing/outbox.py), which writes it to the chart exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, tzinfo
from typing import Any

from fhir_mappings.questionnaire import LEARNING_PREFERENCES_DISPLAY, PARTNERING_STYLES
from smart_app.closing.outbox import OutboxService
from smart_app.closing.plan import (
    SOMETHING_ELSE,
    agreed_plan,
    check_closed,
    parse_plan,
)
from smart_app.closing.writeback_status import WritebackStatus
from smart_app.core import audit
from smart_app.session.launches import OpenLaunch
from smart_app.visit.agenda import Draft
from smart_app.visit.chart_reads import ANY_AGE
from smart_app.visit.drafts import DraftStore
from smart_app.visit.reader import VisitReader, VisitReaders
from smart_app.visit.visit import Visit

REFLECTION_QUESTIONS = {
    "flexible": "Did I allow my role to be flexible?",
    "questions": "Did I ask enough questions?",
    "courage": "Did I have the courage to be uncomfortable?",
}


@dataclass(frozen=True, slots=True)
class Closing:
    """Closing one launch's visit: the plan, its write-back status, the reflection.

    It is also the visit page's closing section (a `PageSection` of smart_app/visit/page.py).
    """

    readers: VisitReaders
    drafts: DraftStore
    outbox: OutboxService
    clinic_zone: tzinfo = UTC  # the zone of the times the page shows in words
    settle_s: float = 0.0  # how long Finish waits for the first write's answer
    template: str = "closing/closing.html"

    def finish(self, opened: OpenLaunch, body: Any) -> WritebackStatus:
        """Check and submit the plan; the draft keeps the form whatever happens."""
        reader = self.readers.for_launch(opened)
        key = reader.draft_key()
        # The body has the plan's shape (docs/openapi.yaml): kept, so a refusal loses nothing.
        self.drafts.change(key, lambda draft: replace(draft, plan_form=body))
        request = parse_plan(body)
        # The launch's last chart read, whatever its age: Finish never waits for the EHR.
        visit = reader.load(reuse=ANY_AGE)
        check_closed(visit.agenda)
        plan = agreed_plan(
            request,
            key=key,
            agenda=visit.agenda,
            visit_start=visit.visit_start,
            replaces=visit.earlier_plans,
            practitioner_display=visit.user_name,
        )
        status = self.outbox.submit(opened, plan)
        self.drafts.change(key, lambda draft: replace(draft, sent_form=body))
        audit.record(
            user=key.user_ref,
            patient=key.patient,
            action="submit-plan",
            resource_ids=[plan.plan_id],
        )
        # The plan is committed: wait briefly for the chart's answer, so the page says
        # "Saved" without polling for it. A slow or failing EHR answers "pending".
        return self.outbox.settle(status, self.settle_s)

    def save_form(self, opened: OpenLaunch, body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """Keep the closing form as typed (checked against docs/openapi.yaml), so a reload
        restores every field; finishing keeps it too. The fields sent replace those kept,
        the rest stay as kept: two of the care team typing into one visit's plan (each
        page sends what it changed) both keep their words. The form as now kept, and what
        the fields sent replaced (the page tells a colleague's words from its own)."""
        sent = dict(body)
        key = self.readers.for_launch(opened).draft_key()
        replaced: dict[str, Any] = {}

        def merge(draft: Draft) -> Draft:
            kept = draft.plan_form or {}
            replaced.clear()  # the edit may run again (drafts.py)
            replaced.update({name: kept[name] for name in sent if name in kept})
            return replace(draft, plan_form={**kept, **sent})

        saved = self.drafts.change(key, merge)
        return dict(saved.draft.plan_form or {}), replaced

    def writeback(self, opened: OpenLaunch) -> WritebackStatus | None:
        """The write-back status of this launch's plan, or None."""
        return self._status(self.readers.for_launch(opened))

    def save_reflection(self, opened: OpenLaunch, body: Any) -> dict[str, str]:
        """Keep the clinician's private reflection in their draft; never written to the chart."""
        reflection = dict(body)  # checked against docs/openapi.yaml: known fields, text only
        key = self.readers.for_launch(opened).draft_key()
        self.drafts.change_private(key, lambda draft: replace(draft, reflection=reflection))
        return reflection

    def page_context(self, reader: VisitReader, visit: Visit) -> Mapping[str, Any]:
        """What the closing section of the visit page shows."""
        writeback = self._status(reader)
        draft = visit.draft.draft
        return {
            "writeback": writeback.to_json(self.clinic_zone) if writeback else None,
            # Changed after it was finished: the chart still has the version last sent.
            "unsent": writeback is not None and draft.plan_form != draft.sent_form,
            "something_else": SOMETHING_ELSE,
            "partnering_styles": PARTNERING_STYLES,
            "learning_preferences": LEARNING_PREFERENCES_DISPLAY,
            "reflection_questions": REFLECTION_QUESTIONS,
        }

    def _status(self, reader: VisitReader) -> WritebackStatus | None:
        return self.outbox.status(reader.draft_key().plan_id)
