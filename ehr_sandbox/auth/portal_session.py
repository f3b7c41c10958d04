"""Who is signed in to the sandbox portal in this browser, and one-time sign-in tickets.

The sandbox's own pages (portal, login, consent) share Flask's signed session cookie: it
names the signed-in portal user (`Patient/ID` or `RelatedPerson/ID`), never a token. A
ticket is what `flip sandbox portal-url` hands to a browser: opening it signs that user
in (and, unless asked otherwise, approves the next authorization) and then opens the app
with only `iss`, so the app runs an ordinary standalone launch
(https://hl7.org/fhir/smart-app-launch/app-launch.html#launch-app-standalone-launch).
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Mapping

from flask import Flask, render_template, session
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from ehr_sandbox.auth.models import PortalTicket, digest

USER_KEY = "auth_portal_user"
PRE_APPROVED_KEY = "auth_pre_approved"
CSRF_KEY = "auth_csrf"
TICKET_LIFETIME_S = 600  # long enough to paste into a browser, short enough not to linger


class CsrfFailure(Exception):
    """A sandbox form posted without this browser's token."""


def init_app(app: Flask) -> None:
    """Answer a failed CSRF check, on the sign-in and the portal pages alike, with a page."""
    app.register_error_handler(CsrfFailure, _csrf_failed)


def _csrf_failed(_: CsrfFailure) -> ResponseReturnValue:
    page = render_template(
        "auth_error.html",
        error="invalid_request",
        description="This form expired or came from another site. Start again from the portal.",
    )
    return page, 400


def sign_in(user: str, *, pre_approved: bool = False) -> None:
    """Sign `user` in to this browser's portal session (replacing anyone signed in)."""
    session[USER_KEY] = user
    session[PRE_APPROVED_KEY] = pre_approved


def sign_out() -> None:
    """Forget the signed-in portal user."""
    session.pop(USER_KEY, None)
    session.pop(PRE_APPROVED_KEY, None)


def signed_in_user() -> str | None:
    """The reference of the signed-in portal user, or None."""
    user = session.get(USER_KEY)
    return user if isinstance(user, str) else None


def chosen_user(form: Mapping[str, str]) -> str:
    """The `Type/id` a sign-in form chose: `user`, or a bare Patient id in `patient`."""
    if form.get("user"):
        return form["user"]
    return f"Patient/{form.get('patient', '')}"


def take_pre_approval() -> bool:
    """True, once, when a ticket approved the app for the signed-in user."""
    return bool(session.pop(PRE_APPROVED_KEY, False))


def csrf_token() -> str:
    """This browser's token for the sandbox's forms."""
    if CSRF_KEY not in session:
        session[CSRF_KEY] = secrets.token_urlsafe(24)
    token: str = session[CSRF_KEY]
    return token


def check_csrf(sent: str) -> None:
    """Raise CsrfFailure unless `sent` is this browser's form token."""
    if not hmac.compare_digest(sent, session.get(CSRF_KEY, "")):
        raise CsrfFailure()


def create_ticket(db: Session, user: str, *, app_launch_url: str, pre_approved: bool = True) -> str:
    """Store a one-time sign-in ticket for `user` and return it (only its digest is kept)."""
    ticket = secrets.token_urlsafe(32)
    db.add(
        PortalTicket(
            ticket_digest=digest(ticket),
            user=user,
            app_launch_url=app_launch_url,
            pre_approved=pre_approved,
            expires_at=int(time.time()) + TICKET_LIFETIME_S,
        )
    )
    return ticket


def redeem_ticket(db: Session, ticket: str) -> PortalTicket | None:
    """The unexpired ticket, deleted so it works once; None when unknown or expired."""
    row = db.get(PortalTicket, digest(ticket))
    if row is None:
        return None
    db.delete(row)
    return None if row.is_expired() else row
