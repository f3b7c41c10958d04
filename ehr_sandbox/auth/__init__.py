"""STUB until the SMART authorization server lands."""

from __future__ import annotations

from flask import Flask

from ehr_sandbox.access import Access, AccessDenied


def init_app(app: Flask) -> None:
    """Register the authorization server's endpoints on the sandbox app."""


def bearer_access() -> Access:
    """The Access of the current request's bearer token; raises AccessDenied (401/403)."""
    raise AccessDenied(401, "no token", www_authenticate='Bearer realm="fhir"')
