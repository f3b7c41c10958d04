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
LAUNCHES = Counter("flip_launches_total", "SMART launches, by outcome.", ["outcome"])


def observe_fhir_request(resource_type: str, interaction: str, status: str, seconds: float) -> None:
    """Count one FHIR request and record its latency."""
    FHIR_REQUESTS.labels(resource_type, interaction, status).inc()
    FHIR_LATENCY.labels(resource_type, interaction).observe(seconds)


def count_launch(outcome: str) -> None:
    """Count one launch by outcome (e.g. `completed`, `access_denied`, `state_mismatch`)."""
    LAUNCHES.labels(outcome).inc()
