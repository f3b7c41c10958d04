"""Request bodies checked against docs/openapi.yaml, the one description of Flip's API.

Before any route of a launch's API runs, its JSON body is checked against the schema of
its operation in the spec, so routes and services only ever read bodies of the shape the
spec promises. A body that does not match is a 400 naming the field's path
(`statuses.item-3.status: 'done' is not one of ...`). OpenAPI 3.1 schemas are JSON Schema
2020-12, so jsonschema checks them as written, `format: date` included.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from flask import Flask, request
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from smart_app.core.validation import InvalidRequest

SPEC_FILE = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
SPEC_URI = "urn:flip:openapi"
API_PREFIX = "/l/<launch_id>/api"  # the spec's `servers` URL, as a Flask rule
BLANK = r"\S"  # the spec's pattern for text that must hold more than spaces
_FLASK_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
_INSTANCE_CHARS = 60  # of an offending value quoted back in a message


@cache
def load_spec(path: Path = SPEC_FILE) -> dict[str, Any]:
    """The OpenAPI document."""
    spec: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return spec


class RequestSchemas:
    """The request body schema of each operation of the spec, by path and method."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        registry: Registry[Any] = Registry().with_resource(
            SPEC_URI, DRAFT202012.create_resource(dict(spec))
        )
        self._bodies: dict[tuple[str, str], tuple[bool, Draft202012Validator]] = {}
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                body = operation.get("requestBody")
                if body is None:
                    continue
                pointer = "/".join(
                    ("#/paths", _escape(path), method, "requestBody/content/application~1json")
                )
                validator = Draft202012Validator(
                    {"$ref": f"{SPEC_URI}{pointer}/schema"},
                    registry=registry,
                    format_checker=Draft202012Validator.FORMAT_CHECKER,
                )
                self._bodies[(path, method.lower())] = (bool(body.get("required")), validator)

    def check(self, path: str, method: str, read_json: Callable[[], Any]) -> None:
        """Refuse a body that its operation's schema does not accept; InvalidRequest says why."""
        found = self._bodies.get((path, method.lower()))
        if found is None:
            return
        required, validator = found
        body = read_json()
        if body is None:
            if required:
                raise InvalidRequest(
                    "Send the request body as JSON (Content-Type: application/json)."
                )
            return
        error = best_match(validator.iter_errors(body))
        if error is not None:
            raise InvalidRequest(describe(error))


def describe(error: ValidationError) -> str:
    """`path.to.field: what is wrong (what the field is)`, short enough to show to its sender."""
    path = [str(part) for part in error.absolute_path]
    kind, limit, value = (
        error.validator,
        cast(Any, error.validator_value),
        cast(Any, error.instance),
    )
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if kind == "required":
        missing = next((name for name in limit if name not in value), "")
        path, what = [*path, missing], "is required"
        schema = schema.get("properties", {}).get(missing, {})
    else:
        what = _what(kind, limit, value, schema) or str(error.message)[:200]
    described = schema.get("description")
    return f"{'.'.join(path) or 'the body'}: {what}" + (f" ({described})" if described else "")


def _what(kind: Any, limit: Any, value: Any, schema: Mapping[str, Any]) -> str | None:
    if kind == "maxLength":
        return f"is {len(value)} characters; the limit is {limit}"
    if kind in ("maxItems", "maxProperties"):
        return f"has {len(value)} entries; the limit is {limit}"
    if kind == "minLength" or (kind == "pattern" and limit == BLANK):
        return "must not be empty"
    if kind == "pattern":
        return f"{_short(value)} does not match {limit}"
    if kind == "uniqueItems":
        return "lists an entry twice"
    if kind == "additionalProperties":
        extra = sorted(set(value) - set(schema.get("properties", {})))
        return f"has unexpected fields: {', '.join(_short(name) for name in extra[:5])}"
    if kind == "propertyNames":
        return f"has a field whose name is not allowed: {_short(value)}"
    if kind == "type":
        allowed = [limit] if isinstance(limit, str) else list(limit)
        return f"{_short(value)} is not of type {' or '.join(allowed)}"
    if kind == "format":
        return f"{_short(value)} is not a {limit}"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _INSTANCE_CHARS else f"{text[: _INSTANCE_CHARS - 3]}..."


def _escape(path: str) -> str:
    # JSON Pointer (RFC 6901): "~" and "/" inside a key are escaped.
    return path.replace("~", "~0").replace("/", "~1")


def init_app(app: Flask, spec: Mapping[str, Any] | None = None) -> None:
    """Check the body of every API request against the spec before its route runs."""
    schemas = RequestSchemas(spec or load_spec())

    def check_body() -> None:
        # Runs after the launch is opened (url_value_preprocessor), so a request that is not
        # the launch's own is refused for that, not for its body.
        rule = request.url_rule
        if rule is None or not rule.rule.startswith(API_PREFIX):
            return
        path = _FLASK_PARAMETER.sub(r"{\1}", rule.rule.removeprefix(API_PREFIX)) or "/"
        schemas.check(path, request.method, lambda: request.get_json(silent=True))

    app.before_request(check_body)
