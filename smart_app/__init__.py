"""Flip's Flask app: the visit agenda flipped, patient and family first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from smart_app import health
from smart_app.config import load_settings
from smart_app.db import db


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app from FLIP_ environment variables, overridden by `test_config`."""
    settings = load_settings(test_config)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["FLIP_SETTINGS"] = settings
    db.init_app(app, settings.database_url)
    app.register_blueprint(health.bp)
    return app
