"""Closing the visit: the agreed plan as the page sends it, made an AgreedPlan.

The body arrives checked against docs/openapi.yaml (smart_app/core/request_schemas.py).

Before the plan can be finished every patient and family item is addressed or deferred
with a reason (open ones are listed, never dropped), and the clinician says whether they
asked "Is there something else you want to address today?".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from fhir_mappings.plan_model import (
    AgendaOutcome,
    AgreedPlan,
    PartneringNote,
    PlanGoal,
    PlanItem,
)
from smart_app.core.validation import InvalidRequest
from smart_app.visit.agenda import AgendaItem
from smart_app.visit.drafts import DraftKey

SOMETHING_ELSE = "Is there something else you want to address today?"


class OpenItemsRemain(Exception):
    """Patient or family items are still open: the plan cannot be finished yet."""

    def __init__(self, items: list[AgendaItem]) -> None:
        super().__init__(f"{len(items)} patient or family items are still open")
        self.items = items


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """The checked body of `POST {base}/visit/plan`."""

    items: tuple[PlanItem, ...]
    goals: tuple[PlanGoal, ...]
    follow_up: str | None
    partnering_note: PartneringNote | None
    something_else_asked: bool
    something_else_added: tuple[str, ...]
    closed_goals: tuple[tuple[str, str], ...] = ()


def parse_plan(body: dict[str, Any]) -> PlanRequest:
    """The plan body (checked against docs/openapi.yaml) as a PlanRequest; refused if empty."""
    items = tuple(
        PlanItem(
            text=item["text"].strip(),
            owner=_words(item.get("owner")),
            when=item.get("when", "now"),
            due=date.fromisoformat(item["due"]) if item.get("due") else None,
        )
        for item in body.get("items", [])
    )
    goals = tuple(PlanGoal(text=goal["text"].strip()) for goal in body.get("goals", []))
    follow_up = _words(body.get("follow_up"))
    note = _note(body.get("partnering_note") or {})
    added = tuple(text.strip() for text in body.get("something_else_added", []))
    if not (items or goals or follow_up or note):
        raise InvalidRequest(
            "The plan is empty: add at least one agreed item, a goal, a follow-up or the "
            "partnering note."
        )
    closed = tuple((g["goal"], g["outcome"]) for g in body.get("closed_goals", []))
    return PlanRequest(items, goals, follow_up, note, body["something_else_asked"], added, closed)


def _all(agenda: list[AgendaItem]) -> list[AgendaItem]:
    # The agenda's items, and the clinician items merged into them.
    return [*agenda, *(m for i in agenda for m in i.merged)]


def check_closed(agenda: list[AgendaItem]) -> None:
    """OpenItemsRemain when a patient or family item is neither addressed nor deferred."""
    still_open = [i for i in agenda if i.source != "clinician" and i.status == "open"]
    if still_open:
        raise OpenItemsRemain(still_open)


def agreed_plan(
    request: PlanRequest,
    *,
    key: DraftKey,
    agenda: list[AgendaItem],
    visit_start: datetime,
    replaces: tuple[str, ...] = (),
    practitioner_display: str | None = None,
) -> AgreedPlan:
    """The AgreedPlan to write for this visit (replacing earlier visits' active plans)."""
    return AgreedPlan(
        plan_id=key.plan_id,
        patient_id=key.patient,
        encounter_id=key.encounter or None,
        practitioner_ref=key.user_ref,
        items=request.items,
        goals=request.goals,
        follow_up=request.follow_up,
        partnering_note=request.partnering_note,
        outcomes=tuple(
            AgendaOutcome(
                text=i.text,
                source=i.source,
                status=i.status,
                reason=i.reason,
                care_team_only=i.care_team_only,
            )
            for i in agenda
            if i.status != "open"
        ),
        something_else_asked=request.something_else_asked,
        something_else_added=request.something_else_added,
        visit_start=visit_start,
        replaces=replaces,
        practitioner_display=practitioner_display,
        # Only goals this visit read from the last plan can be closed by it.
        closed_goals=tuple(
            (goal, outcome)
            for goal, outcome in request.closed_goals
            if any(i.origin == "last-plan-goal" and i.reference == goal for i in _all(agenda))
        ),
        finished_at=datetime.now(UTC),
    )


def _note(value: dict[str, Any]) -> PartneringNote | None:
    style = value.get("style") or None
    learning = tuple(value.get("learning_preferences", ()))
    text = _words(value.get("text"))
    if not (style or learning or text):
        return None
    return PartneringNote(style=style, learning_preferences=learning, text=text)


def _words(value: str | None) -> str | None:
    # Optional text: spaces alone say nothing.
    if value is None:
        return None
    return value.strip() or None
