"""docs/openapi.yaml: a valid OpenAPI document that describes the API as it answers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from smart_app import create_app
from tests.e2e.conftest import launch
from tests.e2e.deployment import Deployment

SPEC: dict[str, Any] = yaml.safe_load(
    (Path(__file__).parents[2] / "docs" / "openapi.yaml").read_text()
)


def test_the_openapi_document_is_valid() -> None:
    validate(SPEC)


def test_every_api_route_is_documented_and_nothing_else() -> None:
    app = create_app({"env": "testing", "database_url": "sqlite://"})
    prefix = "/l/<launch_id>/api"
    routes = {
        (re.sub(r"^" + re.escape(prefix), "", rule.rule) or "/", method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix) and rule.rule != prefix
        for method in rule.methods or ()
        if method not in ("HEAD", "OPTIONS")
    }
    documented = {(path, method) for path, item in SPEC["paths"].items() for method in item}
    assert routes == documented
    app.extensions["flip_db"][0].dispose()


def schema_validator(name: str) -> Draft202012Validator:
    return Draft202012Validator({**SPEC, "$ref": f"#/components/schemas/{name}"})


def test_a_real_visit_answer_matches_its_schema(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    body = visit.get()
    errors = [e.message for e in schema_validator("Visit").iter_errors(body)]
    assert errors == []
    assert body["agenda"], "the example visit has an agenda to check"


def test_a_real_writeback_answer_matches_its_schema(family_visit: Deployment) -> None:
    from tests.e2e.test_plan import PLAN, close_agenda, wait_written

    visit = launch(family_visit)
    close_agenda(visit)
    accepted = visit.send("POST", "/visit/plan", PLAN)
    assert [e.message for e in schema_validator("Writeback").iter_errors(accepted.json())] == []
    status = wait_written(visit)
    assert [e.message for e in schema_validator("Writeback").iter_errors(status)] == []
