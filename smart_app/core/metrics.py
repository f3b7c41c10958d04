"""`/metrics` in Prometheus text format."""

from __future__ import annotations

from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def metrics() -> Response:
    """Every Prometheus metric of this process."""
    return Response(generate_latest(), mimetype=CONTENT_TYPE_LATEST)
