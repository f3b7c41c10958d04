"""Liveness and readiness for load balancers and `make demo`."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from smart_app.core.db import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers, 503 otherwise."""
    if not db.answers():
        return jsonify({"status": "unavailable", "database": "unreachable"}), 503
    return jsonify({"status": "ok", "database": "ok"}), 200
