"""Prometheus metrics of FHIR I/O and launches (served by the app at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

FHIR_REQUESTS = Counter(
    "flip_fhir_requests_total",
    "FHIR requests Flip sent, by resource type, interaction and HTTP status.",
    ["resource_type", "interaction", "status"],
)
FHIR_LATENCY = Histogram(
    "flip_fhir_request_seconds",
    "Time until the FHIR server answered, by resource type and interaction.",
    ["resource_type", "interaction"],
)
TOKEN_LATENCY = Histogram(
    "flip_token_request_seconds",
    "Time until the authorization server answered a token request (code or refresh).",
)
LAUNCHES = Counter("flip_launches_total", "SMART launches, by outcome.", ["outcome"])

# The authorization server's `error` values (RFC 6749 section 4.1.2.1). Anything else a
# callback URL carries is counted as `other_error`: a label per value sent would let
# anyone grow /metrics without bound.
OAUTH_ERRORS = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
    }
)


def observe_fhir_request(resource_type: str, interaction: str, status: str, seconds: float) -> None:
    """Count one FHIR request and record its latency."""
    FHIR_REQUESTS.labels(resource_type, interaction, status).inc()
    FHIR_LATENCY.labels(resource_type, interaction).observe(seconds)


def observe_token_request(seconds: float) -> None:
    """Record how long one token request took, answered or not."""
    TOKEN_LATENCY.observe(seconds)


def count_launch(outcome: str) -> None:
    """Count one launch by outcome (e.g. `completed`, `state_mismatch`): Flip's own words."""
    LAUNCHES.labels(outcome).inc()


def count_refused_launch(error: str) -> None:
    """Count one launch the authorization server refused, by its (bounded) error code."""
    LAUNCHES.labels(error if error in OAUTH_ERRORS else "other_error").inc()
