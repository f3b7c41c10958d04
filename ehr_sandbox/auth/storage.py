"""The database session of the current auth request, shared with authlib's callbacks.

authlib calls back into the grants (save a code, find a token) from deep inside its own
code, so the view opens one committed-on-success session per request and the callbacks
find it on `flask.g`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g
from sqlalchemy.orm import Session

from ehr_sandbox.state import current_state


@contextmanager
def request_session() -> Iterator[Session]:
    """Open the request's session; committed when the block succeeds."""
    with current_state().db.session() as session:
        g.auth_session = session
        try:
            yield session
        finally:
            g.pop("auth_session", None)


def db() -> Session:
    """The session opened by `request_session` for this request."""
    session: Session = g.auth_session
    return session
