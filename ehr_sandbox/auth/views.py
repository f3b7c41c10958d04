"""HTTP endpoints of the authorization server: thin views over authlib and `signin`."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error
from flask import Blueprint, Response, jsonify, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from ehr_sandbox.auth import signin
from ehr_sandbox.auth.discovery import openid_configuration, smart_configuration
from ehr_sandbox.auth.grants import AuthorizedUser
from ehr_sandbox.auth.keys import public_jwks
from ehr_sandbox.auth.models import scope_list
from ehr_sandbox.auth.server import (
    create_authorization_server,
    error_text,
    install_token_generator,
)
from ehr_sandbox.auth.storage import request_session
from ehr_sandbox.state import current_state

PATIENT_KEY = "auth_patient"
CSRF_KEY = "auth_csrf"
_FORM_ONLY = ("decision", "csrf_token")

bp = Blueprint("auth", __name__)
# One server for every sandbox app: authlib keeps no per-app state once built, and the
# grants read settings and the database through current_state() on each request.
server: AuthorizationServer = create_authorization_server()
install_token_generator(server)


@bp.after_request
def _allow_browser_apps(response: Response) -> Response:
    # Browser-only (public) apps call discovery, JWKS and token endpoints cross-origin.
    if request.endpoint != "auth.authorize" and request.endpoint != "auth.login":
        response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/fhir/.well-known/smart-configuration")
def smart_config() -> ResponseReturnValue:
    """SMART App Launch discovery document."""
    return jsonify(smart_configuration(current_state().settings))


@bp.get("/fhir/.well-known/openid-configuration")
def openid_config() -> ResponseReturnValue:
    """OpenID Connect discovery for the issuer (the FHIR base)."""
    return jsonify(openid_configuration(current_state().settings))


@bp.get("/auth/jwks")
def jwks() -> ResponseReturnValue:
    """The public keys id_tokens are signed with."""
    with request_session() as db:
        return jsonify(public_jwks(db))


@bp.post("/auth/token")
def token() -> ResponseReturnValue:
    """The token endpoint (authorization_code and refresh_token grants)."""
    with request_session():
        response: Response = server.create_token_response()
        return response


@bp.post("/auth/introspect")
def introspect() -> ResponseReturnValue:
    """RFC 7662 token introspection."""
    with request_session():
        response: Response = server.create_endpoint_response("introspection")
        return response


@bp.route("/auth/authorize", methods=["GET", "POST"])
def authorize() -> ResponseReturnValue:
    """The authorization endpoint: EHR launches pass straight through; standalone asks."""
    with request_session() as db:
        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            return _authorization_error(error)
        params = {k: v for k, v in request.values.items() if k not in _FORM_ONLY}
        scope: str = grant.request.scope
        if params.get("launch"):
            try:
                user = signin.ehr_launch_user(db, params["launch"], scope)
            except signin.LaunchRefused as exc:
                refusal = InvalidRequestError(
                    error_text(str(exc)), redirect_uri=grant.redirect_uri, state=params.get("state")
                )
                return _authorization_error(refusal)
            return _authorization_response(grant, user)
        patient_id = session.get(PATIENT_KEY)
        if not patient_id or not signin.patient_exists(db, patient_id):
            return redirect(url_for(".login", next=f"{url_for('.authorize')}?{urlencode(params)}"))
        if request.method == "POST" and "decision" in request.form:
            _check_csrf()
            allowed = request.form["decision"] == "allow"
            approver = signin.standalone_user(patient_id, scope) if allowed else None
            return _authorization_response(grant, approver)
        return render_template(
            "auth_consent.html",
            client_name=grant.client.client_name,
            patient_id=patient_id,
            scopes=[(s, signin.describe_scope(s)) for s in scope_list(scope)],
            params=params,
            csrf_token=_csrf_token(),
        )


@bp.route("/auth/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sandbox patient portal sign-in: pick a patient, no password."""
    target = request.values.get("next", "")
    # Only ever continue to the authorization endpoint: no open redirect.
    if not target.startswith(url_for(".authorize")):
        target = url_for(".authorize")
    with request_session() as db:
        if request.method == "POST":
            _check_csrf()
            patient_id = request.form.get("patient", "")
            if signin.patient_exists(db, patient_id):
                session[PATIENT_KEY] = patient_id
                return redirect(target)
        return render_template(
            "auth_login.html",
            patients=signin.patient_choices(db),
            next=target,
            csrf_token=_csrf_token(),
        )


def _authorization_response(grant: object, user: AuthorizedUser | None) -> Response:
    response: Response = server.create_authorization_response(grant=grant, grant_user=user)
    return response


def _authorization_error(error: OAuth2Error) -> ResponseReturnValue:
    """Redirect to a trusted redirect_uri, else explain on a page (RFC 6749 4.1.2.1)."""
    if error.redirect_uri:
        response: Response = server.handle_error_response(None, error)
        return response
    page = render_template(
        "auth_error.html", error=error.error, description=error.get_error_description()
    )
    return page, 400


def _csrf_token() -> str:
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(24)
    token: str = session[CSRF_KEY]
    return token


def _check_csrf() -> None:
    sent = request.form.get("csrf_token", "")
    if not hmac.compare_digest(sent, session.get(CSRF_KEY, "")):
        raise _CsrfFailure()


class _CsrfFailure(Exception):
    """A sandbox form posted without this browser's token."""


@bp.errorhandler(_CsrfFailure)
def _csrf_failed(_: _CsrfFailure) -> ResponseReturnValue:
    page = render_template(
        "auth_error.html",
        error="invalid_request",
        description="This form expired or came from another site. Start the sign-in again.",
    )
    return page, 400
