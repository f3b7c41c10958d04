"""Bearer tokens presented to the FHIR server (RFC 6750) and the Access they grant."""

from __future__ import annotations

from ehr_sandbox.access import Access, AccessDenied
from ehr_sandbox.auth.server import find_access_token
from ehr_sandbox.auth.storage import request_session
from ehr_sandbox.state import current_state


def access_of_bearer(authorization: str | None) -> Access:
    """The Access of an `Authorization: Bearer ...` header; AccessDenied(401) otherwise."""
    realm = f'Bearer realm="{current_state().settings.fhir_base}"'
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        # RFC 6750 section 3.1: no error code when the request carried no credentials.
        raise AccessDenied(401, "This FHIR server needs an access token", www_authenticate=realm)
    with request_session():
        row = find_access_token(token.strip())
        if row is None:
            problem = "The access token is unknown"
        elif row.is_revoked():
            problem = "The access token was revoked"
        elif row.is_expired():
            problem = "The access token expired"
        else:
            return Access.from_scope_string(row.scope, patient=row.patient, fhir_user=row.fhir_user)
    raise AccessDenied(
        401,
        problem,
        www_authenticate=f'{realm}, error="invalid_token", error_description="{problem}"',
    )
