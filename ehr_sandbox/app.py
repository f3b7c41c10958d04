"""Assemble the sandbox EHR: FHIR servers, SMART authorization server, pages, portal, faults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from ehr_sandbox import auth, cds_client, faults, pages, portal
from ehr_sandbox.access import Access
from ehr_sandbox.config import SandboxSettings, load_settings
from ehr_sandbox.db import Database
from ehr_sandbox.fhir.profiles import OPEN, profile_named
from ehr_sandbox.fhir.server import create_fhir_blueprint
from ehr_sandbox.state import EXTENSION_KEY, SandboxState


def create_app(settings: SandboxSettings | Mapping[str, Any] | None = None) -> Flask:
    """Create the sandbox EHR app; tables are created on start."""
    if not isinstance(settings, SandboxSettings):
        settings = load_settings(settings)
    profile = profile_named(settings.profile)  # an unknown name fails before anything starts
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    db = Database(settings.database_url)
    app.extensions[EXTENSION_KEY] = SandboxState(settings=settings, db=db)

    faults.init_app(app)
    auth.init_app(app)
    # The profile governs the SMART base the app uses; the loopback base is for seeding and
    # checks, so it keeps accepting every write whatever the profile.
    app.register_blueprint(
        create_fhir_blueprint(
            "fhir", "/fhir", access=auth.bearer_access, loopback_only=False, profile=profile
        )
    )
    app.register_blueprint(
        create_fhir_blueprint(
            "open_fhir", "/open/fhir", access=Access.open, loopback_only=True, profile=OPEN
        )
    )
    app.register_blueprint(pages.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(cds_client.bp)
    db.create_all()
    return app
