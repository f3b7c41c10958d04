"""Errors of FHIR I/O, each carrying the server's OperationOutcome text when it sent one."""

from __future__ import annotations


class FhirError(Exception):
    """Root of every FHIR request failure."""

    def __init__(self, message: str, *, status: int | None = None, outcome: str | None = None):
        super().__init__(message)
        self.status = status
        self.outcome = outcome  # the OperationOutcome's diagnostics/text, for the clinician


class FhirTemporaryError(FhirError):
    """Worth retrying later: 429, 5xx, timeouts, connection failures."""


class FhirFatalError(FhirError):
    """Retrying the same request will not help (4xx other than 401/429)."""


class FhirUnauthorized(FhirFatalError):
    """401 even after a refresh: the launch's authorization is gone."""


class FhirForbidden(FhirFatalError):
    """403: the granted scopes do not allow this."""


def timed_out(error: FhirError) -> bool:
    """True when the request timed out (it may still be running on the server)."""
    import requests  # here: the error classes above stay importable without it

    return isinstance(error.__cause__, requests.Timeout)


def error_kind(error: FhirError) -> str:
    """What went wrong, for a log line or a row: "timeout", "HTTP 503", "connection"."""
    if timed_out(error):
        return "timeout"
    return f"HTTP {error.status}" if error.status else "connection"
