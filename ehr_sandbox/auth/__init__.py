"""The sandbox's SMART App Launch 2.2 authorization server.

Endpoints: /fhir/.well-known/smart-configuration, /auth/authorize, /auth/login,
/auth/token, /auth/introspect, /auth/jwks. `bearer_access()` turns the bearer token of a
FHIR request into the Access it grants.
"""

from __future__ import annotations

from flask import Flask, request

from ehr_sandbox.access import Access
from ehr_sandbox.auth import models, portal_session
from ehr_sandbox.auth.clients import load_clients_file, register_client
from ehr_sandbox.auth.tokens import access_of_bearer
from ehr_sandbox.auth.views import bp
from ehr_sandbox.state import current_state

__all__ = ["bearer_access", "init_app", "load_clients_file", "models", "register_client"]


def init_app(app: Flask) -> None:
    """Register the authorization server's endpoints on the sandbox app."""
    app.register_blueprint(bp)
    portal_session.init_app(app)
    with app.app_context():
        state = current_state()
        # The tables must exist before the clients file is loaded; create_all is idempotent.
        state.db.create_all()
        if state.settings.clients_file:
            with state.db.session() as session:
                load_clients_file(session, state.settings.clients_file)


def bearer_access() -> Access:
    """The Access of the current request's bearer token; raises AccessDenied (401/403)."""
    return access_of_bearer(request.headers.get("Authorization"))
