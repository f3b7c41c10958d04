"""Request validation shared by every capability: the error, and the checks on any body.

Every JSON body an API route reads is checked first: a body nested deeper than any of
Flip's requests, or text that is not Unicode (a lone surrogate such as `\\ud800`, which
JSON allows but UTF-8 cannot store), is refused with 400 before anything is kept. Kept,
such text would break every later page of the visit.
"""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 32  # Flip's deepest request (a plan) nests 4 levels


class InvalidRequest(ValueError):
    """The request body cannot be used; the message says what to fix."""


def check_json_body(read_json: Any) -> None:
    """Read the body with `read_json()` and refuse what Flip could not keep or answer."""
    try:
        body = read_json()
    except RecursionError as exc:  # the JSON parser's own limit, far above MAX_DEPTH
        raise InvalidRequest(f"The request nests deeper than {MAX_DEPTH} levels.") from exc
    stack: list[tuple[Any, int]] = [(body, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InvalidRequest(f"The request nests deeper than {MAX_DEPTH} levels.")
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key)
                stack.append((item, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)


def _check_text(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidRequest(
            "The request holds text that is not valid Unicode (a lone surrogate); "
            "send it again as plain text."
        ) from exc
