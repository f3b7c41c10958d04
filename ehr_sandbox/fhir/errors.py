"""FHIR errors and their OperationOutcome form: every failure the server answers with."""

from __future__ import annotations

from typing import Any

JsonObject = dict[str, Any]

# Reason phrases for Bundle entry statuses ("201 Created"), per
# https://hl7.org/fhir/R4/bundle-definitions.html#Bundle.entry.response.status
REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    422: "Unprocessable Entity",
    500: "Internal Server Error",
}

# OperationOutcome issue codes (https://hl7.org/fhir/R4/valueset-issue-type.html) by status.
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    409: "conflict",
    412: "conflict",
    500: "exception",
}


class FhirError(Exception):
    """A request the server refuses; carries the HTTP status and a diagnostic message."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _ISSUE_CODES.get(status, "processing")
        self.headers = headers or {}

    def outcome(self) -> JsonObject:
        """This error as an OperationOutcome resource."""
        return operation_outcome(self.message, code=self.code)


def operation_outcome(message: str, *, code: str, severity: str = "error") -> JsonObject:
    """An OperationOutcome with one issue."""
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}],
    }


def status_line(status: int) -> str:
    """The `Bundle.entry.response.status` text of an HTTP status, e.g. `201 Created`."""
    reason = REASONS.get(status)
    return f"{status} {reason}" if reason else str(status)
