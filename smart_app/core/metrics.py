"""`/metrics` in Prometheus text format, and the count of requests Flip answered.

Under gunicorn each worker is its own process with its own counters. `flip serve` sets
PROMETHEUS_MULTIPROC_DIR (a fresh directory per start), where prometheus_client keeps
every worker's values in files; `/metrics` then adds them up across workers
(https://prometheus.github.io/client_python/multiprocess/), so whichever worker answers,
the numbers are the whole server's.
"""

from __future__ import annotations

import os

from flask import Blueprint, Flask, Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from werkzeug.http import HTTP_STATUS_CODES

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

bp = Blueprint("metrics", __name__)

HTTP_REQUESTS = Counter(
    "flip_http_requests_total",
    "Requests Flip answered, by route (its endpoint, `other` when none) and HTTP status.",
    ["endpoint", "status"],
)


@bp.get("/metrics")
def metrics() -> Response:
    """Every Prometheus metric of this server (of every worker, under gunicorn)."""
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    """Count every answered request."""
    app.after_request(_count)


def _count(response: Response) -> Response:
    # Labels from fixed sets only: the app's endpoints and the standard status codes, never
    # the path (it carries launch ids) or anything else a client chooses.
    endpoint = request.url_rule.endpoint if request.url_rule else "other"
    if endpoint == "metrics.metrics":
        return response  # the scraper's own requests are not Flip's traffic
    status = response.status_code
    HTTP_REQUESTS.labels(endpoint, str(status) if status in HTTP_STATUS_CODES else "other").inc()
    return response


def _registry() -> CollectorRegistry:
    if not os.environ.get(MULTIPROC_DIR):
        return REGISTRY  # one process (the dev server, tests): its own values
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry
