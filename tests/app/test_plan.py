"""Closing the visit: what a plan must hold, and what keeps it from being finished."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from smart_app.closing.plan import OpenItemsRemain, check_closed, parse_plan
from smart_app.core.request_schemas import RequestSchemas, load_spec
from smart_app.core.validation import InvalidRequest
from smart_app.visit.agenda import AgendaItem, Source, Status
from smart_app.visit.drafts import DraftKey

PLAN: dict[str, Any] = {
    "items": [{"text": "Pack the vest for the lacrosse trip", "owner": "Maya", "when": "now"}],
    "goals": [{"text": "Play the whole season"}],
    "partnering_note": {"style": "talk-options", "learning_preferences": ["written"], "text": "x"},
    "something_else_asked": True,
}


def item(source: Source, status: Status) -> AgendaItem:
    return AgendaItem(
        id=f"{source}-{status}", text="t", source=source, said_by=None, said_at=None, status=status
    )


def test_a_full_plan_is_read_as_sent() -> None:
    body = {**PLAN, "items": [{**PLAN["items"][0], "when": "later", "due": "2026-12-31"}]}
    plan = parse_plan(body)
    assert plan.items[0].text == "Pack the vest for the lacrosse trip"
    assert (plan.items[0].owner, plan.items[0].when) == ("Maya", "later")
    assert plan.items[0].due == date(2026, 12, 31)
    assert plan.goals[0].text == "Play the whole season"
    assert plan.partnering_note is not None and plan.partnering_note.style == "talk-options"
    assert plan.something_else_asked is True


def finish(body: dict[str, Any]) -> None:
    """What POST /visit/plan does with a body: the spec's schema, then the plan's own rule."""
    RequestSchemas(load_spec()).check("/visit/plan", "post", lambda: body)
    parse_plan(body)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"items": [], "goals": [], "partnering_note": None}, "The plan is empty"),
        ({"something_else_asked": None}, "something else you want to address today"),
        ({"items": [{"text": "x", "when": "soon"}]}, "items.0.when: 'soon' is not one of"),
        ({"items": [{"text": "x", "due": "next week"}]}, "items.0.due: 'next week' is not a date"),
        ({"items": [{"text": "x" * 1001}]}, "items.0.text: is 1001 characters; the limit is 1000"),
        ({"goals": [{"text": ""}]}, "goals.0.text: must not be empty"),
        ({"partnering_note": {"style": "boss"}}, "partnering_note.style: 'boss' is not one of"),
        ({"partnering_note": {"learning_preferences": ["osmosis"]}}, "learning_preferences.0"),
        ({"items": [{"text": "x"}] * 51}, "items: has 51 entries; the limit is 50"),
    ],
)
def test_a_bad_plan_is_refused_with_what_to_fix(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        finish({**PLAN, **change})


def test_open_patient_or_family_items_block_the_plan_but_clinician_items_do_not() -> None:
    check_closed(
        [item("patient", "addressed"), item("family", "deferred"), item("clinician", "open")]
    )
    with pytest.raises(OpenItemsRemain) as blocked:
        check_closed([item("patient", "open"), item("family", "open"), item("clinician", "open")])
    assert [i.source for i in blocked.value.items] == ["patient", "family"]


def test_the_same_visit_by_the_same_clinician_is_the_same_plan() -> None:
    key = DraftKey(iss="https://ehr/fhir", patient="p1", encounter="e1", user_ref="Practitioner/1")
    same = DraftKey("https://ehr/fhir", "p1", "e1", "Practitioner/1")
    other = DraftKey("https://ehr/fhir", "p1", "e2", "Practitioner/1")
    assert key.plan_id == same.plan_id != other.plan_id
