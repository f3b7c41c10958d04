"""HTTP endpoints of the authorization server: thin views over authlib and `signin`."""

from __future__ import annotations

from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Error
from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from ehr_sandbox.access import patient_scopes_only
from ehr_sandbox.auth import portal_session, signin
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
    """The authorization endpoint: EHR launches pass straight through; standalone asks
    the signed-in portal user, unless a portal-url ticket already approved."""
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
        portal_user = _signed_in(db)
        if portal_user is None:
            return redirect(url_for(".login", next=f"{url_for('.authorize')}?{urlencode(params)}"))
        if portal_session.take_pre_approval():
            # `flip sandbox portal-url`: the user approved this launch before opening it.
            return _authorization_response(grant, signin.standalone_user(portal_user, scope))
        if request.method == "POST" and "decision" in request.form:
            portal_session.check_csrf(request.form.get("csrf_token", ""))
            allowed = request.form["decision"] == "allow"
            approver = signin.standalone_user(portal_user, scope) if allowed else None
            return _authorization_response(grant, approver)
        offered = patient_scopes_only(scope)
        return render_template(
            "auth_consent.html",
            client_name=grant.client.client_name,
            user=portal_user,
            scopes=[(s, signin.describe_scope(s)) for s in scope_list(offered)],
            withheld=[s for s in scope_list(scope) if s not in scope_list(offered)],
            params=params,
            csrf_token=portal_session.csrf_token(),
        )


@bp.route("/auth/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """The sandbox portal sign-in: pick a patient or a parent, no password."""
    target = request.values.get("next", "")
    # Only ever continue to the authorization endpoint: no open redirect.
    if not target.startswith(url_for(".authorize")):
        target = url_for(".authorize")
    with request_session() as db:
        if request.method == "POST":
            portal_session.check_csrf(request.form.get("csrf_token", ""))
            user = signin.find_portal_user(db, portal_session.chosen_user(request.form))
            if user is not None:
                portal_session.sign_in(user.reference)
                return redirect(target)
        return render_template(
            "auth_login.html",
            users=signin.portal_users(db),
            next=target,
            csrf_token=portal_session.csrf_token(),
        )


def _signed_in(db: Session) -> signin.PortalUser | None:
    reference = portal_session.signed_in_user()
    return None if reference is None else signin.find_portal_user(db, reference)


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
