"""The patient portal: a patient or a parent signs in and opens the app standalone.

"Prepare for my visit" opens the app with only `iss`, as a portal does for a standalone
launch (https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-standalone-launch);
the authorization server then finds the portal user already signed in to this browser.
Tools (`flip sandbox portal-url`) ask for a one-time sign-in link instead, which lands the
browser in the same place with no sign-in page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from ehr_sandbox.auth import portal_session, signin
from ehr_sandbox.faults import LOOPBACK
from ehr_sandbox.state import current_state

bp = Blueprint("portal", __name__)


@bp.get("/portal")
def home() -> str:
    """The portal: sign in as a patient or parent, then start the app for that record."""
    settings = current_state().settings
    with current_state().db.session() as db:
        reference = portal_session.signed_in_user()
        user = None if reference is None else signin.find_portal_user(db, reference)
        users = [] if user is not None else signin.portal_users(db)
    return render_template(
        "portal.html",
        user=user,
        users=users,
        launch_url=standalone_launch_url(settings.app_launch_url, settings.fhir_base),
        csrf_token=portal_session.csrf_token(),
    )


@bp.post("/portal/sign-in")
def sign_in() -> ResponseReturnValue:
    """Sign the chosen patient or parent in to this browser's portal session."""
    portal_session.check_csrf(request.form.get("csrf_token", ""))
    with current_state().db.session() as db:
        user = signin.find_portal_user(db, portal_session.chosen_user(request.form))
    if user is not None:
        portal_session.sign_in(user.reference)
    return redirect(url_for(".home"))


@bp.post("/portal/sign-out")
def sign_out() -> ResponseReturnValue:
    """Sign the portal user out of this browser."""
    portal_session.check_csrf(request.form.get("csrf_token", ""))
    portal_session.sign_out()
    return redirect(url_for(".home"))


@bp.get("/portal/sign-in/<ticket>")
def redeem(ticket: str) -> ResponseReturnValue:
    """Follow a one-time sign-in link: sign its user in, then open the app with `iss` only."""
    with current_state().db.session() as db:
        row = portal_session.redeem_ticket(db, ticket)
        user = None if row is None else signin.find_portal_user(db, row.user)
    if row is None or user is None:
        page = render_template(
            "auth_error.html",
            error="invalid_request",
            description="This sign-in link is unknown, used or expired. Ask for a new one.",
        )
        return page, 404
    portal_session.sign_in(user.reference, pre_approved=row.pre_approved)
    return redirect(standalone_launch_url(row.app_launch_url, current_state().settings.fhir_base))


@bp.post("/_sandbox/portal-sign-ins")
def create_sign_in_for_tools() -> tuple[Response, int]:
    """Create a one-time portal sign-in link for the CLI and tests: 201 with its URL."""
    if request.remote_addr not in LOOPBACK:
        return jsonify({"error": "portal sign-in links answer loopback clients only"}), 403
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("user"), str):
        return jsonify({"error": "send JSON with a 'user': Patient/ID or RelatedPerson/ID"}), 400
    settings = current_state().settings
    app_launch_url = body.get("app_launch_url") or settings.app_launch_url
    if not isinstance(app_launch_url, str) or not app_launch_url.startswith(
        ("http://", "https://")
    ):
        return jsonify({"error": "'app_launch_url' must be an http(s) URL"}), 400
    with current_state().db.session() as db:
        user = signin.find_portal_user(db, body["user"])
        if user is None:
            problem = f"no Patient or active RelatedPerson {body['user']!r} (of a known Patient)"
            return jsonify({"error": problem}), 400
        ticket = portal_session.create_ticket(
            db,
            user.reference,
            app_launch_url=app_launch_url,
            pre_approved=bool(body.get("pre_approved", True)),
        )
    url = f"{settings.public_url.rstrip('/')}{url_for('.redeem', ticket=ticket)}"
    return jsonify({"url": url, "user": user.reference, "patient": user.patient}), 201


def standalone_launch_url(app_launch_url: str, fhir_base: str) -> str:
    """The app's launch URL with only `iss`: a standalone launch."""
    separator = "&" if "?" in app_launch_url else "?"
    return f"{app_launch_url}{separator}{urlencode({'iss': fhir_base})}"
