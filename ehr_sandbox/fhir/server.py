"""STUB until the FHIR server lands."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint

from ehr_sandbox.access import Access


def create_fhir_blueprint(
    name: str, url_prefix: str, *, access: Callable[[], Access], loopback_only: bool
) -> Blueprint:
    """A FHIR R4 REST server at `url_prefix`; `access` authorizes each request."""
    return Blueprint(name, __name__, url_prefix=url_prefix)
