"""The authorization server assembled from authlib parts, as in authlib's
example-oauth2-server `website/oauth2.py`: grants, client authentication, introspection.
"""

from __future__ import annotations

import time
from typing import Any

from authlib.common.security import generate_token
from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ehr_sandbox.auth.clients import ClientKeysUnavailable, client_public_keys, find_client
from ehr_sandbox.auth.grants import (
    CLIENT_AUTH_METHODS,
    AuthorizedUser,
    LaunchContextResponse,
    S256CodeChallenge,
    SmartAuthorizationCodeGrant,
    SmartLaunchChecks,
    SmartOpenIDCode,
    SmartRefreshTokenGrant,
)
from ehr_sandbox.auth.models import IssuedToken, OAuthClient, UsedAssertion, digest
from ehr_sandbox.auth.storage import db
from ehr_sandbox.state import current_state

# SMART 2.2 asymmetric client authentication: RS384 and ES384 only
# (https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html#signature-algorithms).
ASSERTION_ALGS = ["RS384", "ES384"]
# SMART 2.2: the assertion's exp is "no more than five minutes in the future".
ASSERTION_MAX_LIFETIME_S = 300


def error_text(text: str) -> str:
    """Text made safe for an OAuth error_description (RFC 6749 section 5.2 characters)."""
    return "".join(c if " " <= c <= "~" and c not in '"\\' else "?" for c in text)


def token_endpoint() -> str:
    """The absolute token endpoint URL: the audience of client assertions."""
    return f"{current_state().settings.public_url.rstrip('/')}/auth/token"


class PrivateKeyJwt(JWTBearerClientAssertion):  # type: ignore[misc]
    """private_key_jwt client authentication (RFC 7523) with SMART's algorithms."""

    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self) -> None:
        super().__init__(validate_jti=True, leeway=30)

    def get_audiences(self) -> list[str]:
        """Assertions must be addressed to the token endpoint."""
        return [token_endpoint()]

    def resolve_client_public_key(self, client: OAuthClient) -> KeySet:
        """The client's registered keys (inline JWKS or jwks_url)."""
        try:
            return client_public_keys(client)
        except ClientKeysUnavailable as exc:
            raise InvalidClientError(description=error_text(str(exc))) from exc

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        """Verify the signature with RS384/ES384 only, then the claims."""
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGS)
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(
                description=error_text(f"Invalid client assertion: {exc}")
            ) from exc
        exp = token.claims.get("exp")
        if isinstance(exp, int) and exp > time.time() + ASSERTION_MAX_LIFETIME_S + self.leeway:
            raise InvalidClientError(description="Client assertion 'exp' is too far ahead")
        self.verify_claims(token.claims)
        claims: dict[str, Any] = token.claims
        return claims

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        """Record the jti; False when this client already used it."""
        session = db()
        if session.get(UsedAssertion, (claims["sub"], jti)) is not None:
            return False
        try:
            with session.begin_nested():
                session.add(
                    UsedAssertion(client_id=claims["sub"], jti=jti, expires_at=int(claims["exp"]))
                )
        except IntegrityError:
            return False  # a concurrent request used it first
        return True


class SmartIntrospection(IntrospectionEndpoint):  # type: ignore[misc]
    """RFC 7662 introspection for any registered client, authenticated as registered."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> IssuedToken | None:
        """Find an access token (or, with the hint, a refresh token)."""
        # RFC 7662 section 2.1: the hint only orders the search.
        by_access = IssuedToken.access_digest == digest(token_string)
        by_refresh = IssuedToken.refresh_digest == digest(token_string)
        refresh_first = token_type_hint == "refresh_token"  # noqa: S105 (a hint name)
        order = [by_refresh, by_access] if refresh_first else [by_access]
        for condition in order:
            row = db().scalars(select(IssuedToken).where(condition)).first()
            if row is not None:
                return row
        return None

    def check_permission(self, token: IssuedToken, client: OAuthClient, request: Any) -> bool:
        """Any registered client may ask; the sandbox has no private resource servers."""
        return True

    def introspect_token(self, token: IssuedToken) -> dict[str, Any]:
        """The RFC 7662 answer with SMART's patient and fhirUser."""
        answer: dict[str, Any] = {
            "active": True,
            "scope": token.scope,
            "client_id": token.client_id,
            "token_type": "Bearer",
            "exp": token.get_expires_at(),
            "iat": token.issued_at,
            "sub": token.subject,
            "iss": current_state().settings.fhir_base,
            "patient": token.patient,
            "encounter": token.encounter,
            "fhirUser": token.fhir_user,
        }
        return {k: v for k, v in answer.items() if v is not None}


def query_client(client_id: str) -> OAuthClient | None:
    """The registered client, for authlib."""
    return find_client(db(), client_id)


def save_token(token: dict[str, Any], request: Any) -> None:
    """Store a new token's digests with the user and launch context it carries."""
    user: AuthorizedUser = request.user
    settings = current_state().settings
    now = int(time.time())
    refresh = token.get("refresh_token")
    db().add(
        IssuedToken(
            client_id=request.client.client_id,
            access_digest=digest(token["access_token"]),
            refresh_digest=digest(refresh) if refresh else None,
            scope=token.get("scope", ""),
            issued_at=now,
            expires_in=int(token["expires_in"]),
            refresh_expires_at=now + settings.refresh_token_lifetime_s if refresh else None,
            access_revoked=False,
            refresh_revoked=False,
            subject=user.subject,
            fhir_user=user.fhir_user,
            patient=user.patient,
            encounter=user.encounter,
            need_patient_banner=user.need_patient_banner,
            smart_style_url=user.smart_style_url,
        )
    )


def _random_token(**_: Any) -> str:
    return str(generate_token(48))


def _access_token_lifetime(client: OAuthClient, grant_type: str) -> int:
    # Read per request, so tests can start a sandbox with one-second tokens.
    return current_state().settings.access_token_lifetime_s


def create_authorization_server() -> AuthorizationServer:
    """The sandbox's authorization server; call `init_app` on it."""
    server = AuthorizationServer(query_client=query_client, save_token=save_token)
    server.register_grant(
        SmartAuthorizationCodeGrant,
        [
            S256CodeChallenge(required=True),
            SmartLaunchChecks(),
            SmartOpenIDCode(require_nonce=False),
            LaunchContextResponse(),
        ],
    )
    server.register_grant(SmartRefreshTokenGrant, [LaunchContextResponse()])
    server.register_client_auth_method(PrivateKeyJwt.CLIENT_AUTH_METHOD, PrivateKeyJwt())
    server.register_endpoint(SmartIntrospection)
    return server


def install_token_generator(server: AuthorizationServer) -> None:
    """Opaque random tokens with the configured lifetime (after `server.init_app`)."""
    server.register_token_generator(
        "default", BearerTokenGenerator(_random_token, _random_token, _access_token_lifetime)
    )


def find_access_token(token: str) -> IssuedToken | None:
    """The stored row of a presented access token, or None when unknown."""
    query = select(IssuedToken).where(IssuedToken.access_digest == digest(token))
    return db().scalars(query).first()
