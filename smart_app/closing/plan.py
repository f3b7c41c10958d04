"""Closing the visit: the agreed plan as the page sends it, checked and made an AgreedPlan.

Before the plan can be finished every patient and family item is addressed or deferred
with a reason (open ones are listed, never dropped), and the clinician says whether they
asked "Is there something else you want to address today?".
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

from fhir_mappings.plan_model import (
    AgendaOutcome,
    AgreedPlan,
    PartneringNote,
    PlanGoal,
    PlanItem,
    When,
)
from fhir_mappings.questionnaire import LEARNING_PREFERENCES_DISPLAY, PARTNERING_STYLES
from smart_app.core.validation import InvalidRequest
from smart_app.visit.agenda import AgendaItem
from smart_app.visit.drafts import DraftKey

SOMETHING_ELSE = "Is there something else you want to address today?"
MAX_ITEMS = 50
LIMITS = {"text": 1000, "owner": 200, "follow_up": 2000, "note": 4000, "added": 1000}


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


def plan_id_for(key: DraftKey) -> str:
    """The plan's id: the same visit by the same clinician is the same plan (exactly once)."""
    name = f"flip-plan|{key.iss}|{key.patient}|{key.encounter}|{key.user_ref}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def parse_plan(body: Any) -> PlanRequest:
    """Check the plan body; InvalidRequest says what to fix."""
    if not isinstance(body, dict):
        raise InvalidRequest('Send the plan as a JSON object: {"items": [...], "goals": [...]}.')
    asked = body.get("something_else_asked")
    if not isinstance(asked, bool):
        raise InvalidRequest(
            f'Say whether you asked "{SOMETHING_ELSE}" ("something_else_asked": true or false).'
        )
    items = tuple(_item(i, value) for i, value in enumerate(_list(body, "items")))
    goals = tuple(
        PlanGoal(text=cast(str, _text(g, "text", f"goals[{i}].text", required=True)))
        for i, g in enumerate(_list(body, "goals"))
    )
    follow_up = _text(body, "follow_up", "follow_up", limit=LIMITS["follow_up"])
    note = _note(body.get("partnering_note"))
    added = tuple(
        cast(str, _text({"t": t}, "t", f"something_else_added[{i}]", required=True))
        for i, t in enumerate(_list(body, "something_else_added"))
    )
    if not (items or goals or follow_up or note):
        raise InvalidRequest(
            "The plan is empty: add at least one agreed item, a goal, a follow-up or the "
            "partnering note."
        )
    return PlanRequest(items, goals, follow_up, note, asked, added)


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
) -> AgreedPlan:
    """The AgreedPlan to write for this visit."""
    return AgreedPlan(
        plan_id=plan_id_for(key),
        patient_id=key.patient,
        encounter_id=key.encounter or None,
        practitioner_ref=key.user_ref,
        items=request.items,
        goals=request.goals,
        follow_up=request.follow_up,
        partnering_note=request.partnering_note,
        outcomes=tuple(
            AgendaOutcome(text=i.text, source=i.source, status=i.status, reason=i.reason)
            for i in agenda
            if i.status != "open"
        ),
        something_else_asked=request.something_else_asked,
        something_else_added=request.something_else_added,
        visit_start=visit_start,
        finished_at=datetime.now(UTC),
    )


def _item(index: int, value: Any) -> PlanItem:
    where = f"items[{index}]"
    if not isinstance(value, dict):
        raise InvalidRequest(f'{where} must be an object: {{"text", "owner", "when", "due"}}.')
    when = value.get("when", "now")
    if when not in ("now", "later"):
        raise InvalidRequest(f'{where}.when must be "now" or "later".')
    due = value.get("due")
    due_date = None
    if due not in (None, ""):
        try:
            due_date = date.fromisoformat(str(due))
        except ValueError as exc:
            raise InvalidRequest(f"{where}.due must be a date like 2026-12-31.") from exc
    return PlanItem(
        text=cast(str, _text(value, "text", f"{where}.text", required=True)),
        owner=_text(value, "owner", f"{where}.owner", limit=LIMITS["owner"]),
        when=cast(When, when),
        due=due_date,
    )


def _note(value: Any) -> PartneringNote | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict):
        raise InvalidRequest(
            '"partnering_note" must be an object: {"style", "learning_preferences", "text"}.'
        )
    style = value.get("style") or None
    if style is not None and style not in PARTNERING_STYLES:
        raise InvalidRequest(
            f"partnering_note.style must be one of {', '.join(PARTNERING_STYLES)}."
        )
    learning = value.get("learning_preferences") or []
    if not isinstance(learning, list) or any(
        p not in LEARNING_PREFERENCES_DISPLAY for p in learning
    ):
        raise InvalidRequest(
            "partnering_note.learning_preferences must list codes of "
            f"{', '.join(LEARNING_PREFERENCES_DISPLAY)}."
        )
    text = _text(value, "text", "partnering_note.text", limit=LIMITS["note"])
    if not (style or learning or text):
        return None
    return PartneringNote(style=style, learning_preferences=tuple(learning), text=text)


def _list(body: dict[str, Any], name: str) -> list[Any]:
    value = body.get(name) or []
    if not isinstance(value, list):
        raise InvalidRequest(f'"{name}" must be a list.')
    if len(value) > MAX_ITEMS:
        raise InvalidRequest(f'"{name}" has {len(value)} entries; the limit is {MAX_ITEMS}.')
    return value


def _text(
    value: dict[str, Any],
    name: str,
    where: str,
    *,
    required: bool = False,
    limit: int = LIMITS["text"],
) -> str | None:
    raw = value.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise InvalidRequest(f"{where} is required.")
        return None
    if not isinstance(raw, str):
        raise InvalidRequest(f"{where} must be text.")
    if len(raw) > limit:
        raise InvalidRequest(f"{where} is {len(raw)} characters; the limit is {limit}.")
    return raw.strip()
