"""Flip's Flask app: the visit agenda flipped, patient and family first."""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, Response, g
from flask_babel import Babel
from sqlalchemy.exc import SQLAlchemyError

from fhir_mappings.fields import load_models
from fhir_mappings.narrative import learning_words
from fhir_mappings.previsit_summary import preview
from smart_app import errors, services
from smart_app.closing import views as closing_views
from smart_app.closing.worker import OutboxWorker
from smart_app.core import access_log, health, metrics, request_schemas, static_files
from smart_app.core.config import load_settings
from smart_app.core.db import db
from smart_app.core.formatting import ago, origin_label
from smart_app.previsit import views as previsit_views
from smart_app.previsit.language import locale_selector
from smart_app.session import pending, rate_limits
from smart_app.session import views as session_views
from smart_app.team import cds_views
from smart_app.team import views as team_views
from smart_app.visit import chart_reads
from smart_app.visit import views as visit_views

log = logging.getLogger(__name__)

OUTBOX_WORKER_KEY = "flip_outbox_worker"


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app from FLIP_ environment variables, overridden by `test_config`."""
    settings = load_settings(test_config)
    instance = os.path.abspath(settings.instance_path) if settings.instance_path else None
    app = Flask(__name__, instance_path=instance)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["FLIP_SETTINGS"] = settings
    # A larger body is refused (413) before it is read (FLIP_MAX_REQUEST_BYTES).
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    db.init_app(app, settings.database_url)
    static_files.init_app(app)
    found = services.init_app(app, settings)
    if settings.runs_outbox_worker:
        # Writes the chart in the background; `flip outbox run` does the same in the foreground.
        worker = OutboxWorker(
            app,
            found.outbox,
            poll_s=settings.outbox_poll_s,
            also=(found.previsit_outbox.process_due,),
        )
        app.extensions[OUTBOX_WORKER_KEY] = worker
        worker.start()
    errors.init_app(app)
    request_schemas.init_app(app)
    access_log.install()
    # Only the pre-visit form speaks the person's language (English or Spanish).
    Babel(app, locale_selector=locale_selector)
    blueprints = (
        health.bp,
        session_views.bp,
        visit_views.bp,
        closing_views.bp,
        previsit_views.bp,
        metrics.bp,
        cds_views.bp,
        team_views.bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    metrics.init_app(app)
    rate_limits.init_app(
        app, limit=settings.launch_rate_limit, storage_uri=settings.rate_limit_storage_uri
    )
    _purge_expired(app)
    app.add_template_filter(ago)
    app.add_template_filter(origin_label)
    app.add_template_filter(learning_words)
    app.add_template_filter(preview)
    app.add_template_global(style_nonce)
    app.after_request(_security_headers(found.launches.client.registrations.framing_origins()))
    if settings.warms_up:
        _warm_up(app)
    return app


def _warm_up(app: Flask) -> None:
    # The first launch after a start would otherwise compile the templates it renders and
    # import the FHIR models of what it reads (about 0.1 s), and the first Finish those of
    # what it writes. Done last: a template is compiled with the filters added above.
    for name in app.jinja_env.list_templates(extensions=["html"]):
        app.jinja_env.get_template(name)
    load_models()


def _purge_expired(app: Flask) -> None:
    # On start, so launches abandoned before a restart (and their chart reads) do not pile
    # up; the worker's passes keep doing it while Flip runs (smart_app/closing/worker.py).
    with app.app_context():
        try:
            pending.purge_expired()
            chart_reads.purge_expired()
        except SQLAlchemyError as error:  # no tables yet: `flip db upgrade` has not run
            log.warning("expired launches not purged on start (%s)", type(error).__name__)


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
        nonce = g.get("style_nonce")
        # A page's own <style> (the EHR's styling) carries this response's nonce.
        styles = f"; style-src 'self' 'nonce-{nonce}'" if nonce else ""
        response.headers.setdefault("Content-Security-Policy", policy + styles)
        return response

    return add


def style_nonce() -> str:
    """The CSP nonce of this response's inline `<style>` (made on first use)."""
    if "style_nonce" not in g:
        g.style_nonce = secrets.token_urlsafe(16)
    nonce: str = g.style_nonce
    return nonce
