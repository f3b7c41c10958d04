"""Request bodies: docs/openapi.yaml is their one description, and what it says is what
Flip takes; a body it does not describe is refused naming the field, before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_mappings.questionnaire import LEARNING_PREFERENCES_DISPLAY, PARTNERING_STYLES
from smart_app.core.config import load_settings
from smart_app.core.request_schemas import RequestSchemas, load_spec
from smart_app.core.validation import InvalidRequest
from smart_app.visit.agenda import SOURCES, STATUSES
from tests.app.conftest import MakeApp

SPEC = load_spec()
SCHEMAS = RequestSchemas(SPEC)


def schema(name: str) -> dict[str, Any]:
    found: dict[str, Any] = SPEC["components"]["schemas"][name]
    return found


def plan_property(*names: str) -> dict[str, Any]:
    found: dict[str, Any] = schema("PlanForm")  # the finished plan's body, and the form's
    for name in names:
        found = found["properties"][name] if name != "[]" else found["items"]
    return found


def refusal(path: str, method: str, body: Any) -> str:
    with pytest.raises(InvalidRequest) as refused:
        SCHEMAS.check(path, method, lambda: body)
    return str(refused.value)


def test_the_spec_lists_the_codes_flip_knows() -> None:
    assert schema("Status")["enum"] == list(STATUSES)
    assert schema("Source")["enum"] == list(SOURCES)
    assert plan_property("partnering_note", "style")["enum"] == [*PARTNERING_STYLES, None]
    learning = plan_property("partnering_note", "learning_preferences", "[]")["enum"]
    assert learning == list(LEARNING_PREFERENCES_DISPLAY)


@pytest.mark.parametrize(
    ("path", "method", "body", "message"),
    [
        (
            "/visit/agenda",
            "put",
            {"statuses": {"item-3": {"status": "done"}}},
            "statuses.item-3.status: 'done' is not one of ['open', 'addressed', 'deferred']",
        ),
        ("/visit/agenda", "put", {"statuses": {"x": "addressed"}}, "statuses.x: 'addressed' is"),
        ("/visit/agenda", "put", {"order": {"a": 1}}, "order: {'a': 1} is not of type array"),
        ("/visit/agenda", "put", {"order": ["a b"]}, "order.0: 'a b' does not match"),
        (
            "/visit/agenda",
            "put",
            {"order": ["i"] * 501},
            "order: has 501 entries; the limit is 500",
        ),
        ("/visit/agenda", "put", {"sort": []}, "the body: has unexpected fields: 'sort'"),
        (
            "/visit/agenda",
            "put",
            {"statuses": {"x": {"status": "deferred", "reason": " "}}},
            "statuses.x.reason: must not be empty",
        ),
        ("/visit/agenda/items", "post", {"text": ["a"]}, "text: ['a'] is not of type string"),
        ("/visit/agenda/items", "post", {"source": "clinician"}, "text: is required"),
        ("/visit/agenda/merge", "post", {"item": 1, "into": "b"}, "item: 1 is not of type string"),
        ("/visit/agenda/split", "post", {}, "item: is required"),
        ("/visit/plan", "post", {"something_else_asked": "yes"}, "something_else_asked: 'yes'"),
        (
            "/visit/plan",
            "post",
            {"something_else_asked": True, "items": [{"text": "x", "owner": 7}]},
            "items.0.owner: 7 is not of type string or null",
        ),
        (
            "/visit/plan",
            "post",
            {"something_else_asked": True, "partnering_note": {"text": "x" * 4001}},
            "partnering_note.text: is 4001 characters; the limit is 4000",
        ),
        ("/visit/reflection", "put", {"notes": None}, "notes: None is not of type string"),
        ("/visit/reflection", "put", "notes", "the body: 'notes' is not of type object"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field(
    path: str, method: str, body: Any, message: str
) -> None:
    assert message in refusal(path, method, body)


def test_a_request_without_a_json_body_is_refused() -> None:
    assert "as JSON" in refusal("/visit/agenda", "put", None)


@pytest.mark.parametrize(
    ("path", "method"),
    [
        (path, method)
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ],
)
def test_the_spec_s_own_examples_are_taken(path: str, method: str) -> None:
    content = SPEC["paths"][path][method]["requestBody"]["content"]["application/json"]
    SCHEMAS.check(path, method, lambda: content["example"])


def test_the_request_size_limit_is_a_flip_setting(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings({"env": "testing"}).max_request_bytes == 1024 * 1024
    monkeypatch.setenv("FLIP_MAX_REQUEST_BYTES", "2048")
    assert load_settings({"env": "testing"}).max_request_bytes == 2048
    client = make_app(database_url="sqlite://").test_client()
    small = client.post("/callback", data={"state": "s", "code": "c"}, headers={"Accept": "*/*"})
    assert small.status_code != 413
    big = client.post(
        "/callback", data={"state": "s" * 3000}, headers={"Accept": "application/json"}
    )
    assert big.status_code == 413
    assert big.json is not None
    assert big.json["message"] == (
        "The request is larger than Flip accepts (2 KB); nothing of it was saved."
    )
