"""Flip's Flask app: the visit agenda flipped, patient and family first."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response

from smart_app import errors, services
from smart_app.closing import views as closing_views
from smart_app.closing.worker import OutboxWorker
from smart_app.core import health, metrics
from smart_app.core.config import load_settings
from smart_app.core.db import db
from smart_app.core.formatting import ago, origin_label
from smart_app.session import views as session_views
from smart_app.visit import views as visit_views

OUTBOX_WORKER_KEY = "flip_outbox_worker"
MAX_REQUEST_BYTES = 512 * 1024


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app from FLIP_ environment variables, overridden by `test_config`."""
    settings = load_settings(test_config)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["FLIP_SETTINGS"] = settings
    # Flip's largest request (a plan with every field at its limit) is far below this.
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    db.init_app(app, settings.database_url)
    found = services.init_app(app, settings)
    if settings.runs_outbox_worker:
        # Writes the chart in the background; `flip outbox run` does the same in the foreground.
        worker = OutboxWorker(app, found.outbox, poll_s=settings.outbox_poll_s)
        app.extensions[OUTBOX_WORKER_KEY] = worker
        worker.start()
    errors.init_app(app)
    for blueprint in (health.bp, session_views.bp, visit_views.bp, closing_views.bp, metrics.bp):
        app.register_blueprint(blueprint)
    app.add_template_filter(ago)
    app.add_template_filter(origin_label)
    app.after_request(_security_headers(found.launches.client.registrations.framing_origins()))
    return app


def _security_headers(framing_origins: tuple[str, ...]) -> Callable[[Response], Response]:
    # Only the registered EHRs' pages may frame Flip: a page of any other origin could
    # otherwise frame it and trick a click into writing the chart (clickjacking).
    ancestors = " ".join(("'self'", *framing_origins))
    policy = (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        f"frame-ancestors {ancestors}"
    )

    def add(response: Response) -> Response:
        # Pages carry PHI and per-launch URLs: never cache them, never leak them in Referer.
        response.headers.setdefault("Cache-Control", "no-store")
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers.setdefault("Content-Security-Policy", policy)
        return response

    return add
