"""authlib grants and extensions with the SMART App Launch 2.2 rules.

- PKCE with S256 is required of every client (SMART 2.2 "Considerations for PKCE
  support": https://hl7.org/fhir/smart-app-launch/app-launch.html#considerations-for-pkce-support).
- `aud` must name this FHIR server, and an EHR `launch` id must resolve
  (https://hl7.org/fhir/smart-app-launch/app-launch.html#obtain-authorization-code).
- Refresh tokens only when `offline_access` or `online_access` is granted, rotated on use
  (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-a-refresh-token).
- A Patient or RelatedPerson (portal user) is granted patient/ scopes only.
- The token response carries the launch context
  (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import RSAKey
from sqlalchemy import select

from ehr_sandbox.access import PORTAL_USER_TYPES, patient_scopes_only, user_type
from ehr_sandbox.auth.keys import ID_TOKEN_ALG, signing_key
from ehr_sandbox.auth.models import (
    AuthorizationCode,
    IssuedToken,
    OAuthClient,
    digest,
    scope_list,
)
from ehr_sandbox.auth.storage import db
from ehr_sandbox.launch_context import find_launch
from ehr_sandbox.state import current_state

CODE_LIFETIME_S = 300  # RFC 6749 section 4.1.2 recommends at most 10 minutes
REFRESH_SCOPES = frozenset({"offline_access", "online_access"})
# Clients authenticate as registered: secret, signed assertion, or none (public + PKCE).
CLIENT_AUTH_METHODS = ["client_secret_basic", "private_key_jwt", "none"]


@dataclass(frozen=True, slots=True)
class AuthorizedUser:
    """Who approved a grant, and the launch context the grant carries to the app."""

    subject: str  # the OpenID Connect `sub`
    fhir_user: str | None = None  # absolute URL of the Practitioner, Patient or RelatedPerson
    patient: str | None = None
    encounter: str | None = None
    need_patient_banner: bool | None = None
    smart_style_url: str | None = None

    @classmethod
    def of(cls, row: AuthorizationCode | IssuedToken) -> AuthorizedUser:
        """The user and context stored with a code or token."""
        return cls(
            subject=row.subject,
            fhir_user=row.fhir_user,
            patient=row.patient,
            encounter=row.encounter,
            need_patient_banner=row.need_patient_banner,
            smart_style_url=row.smart_style_url,
        )

    def launch_parameters(self) -> dict[str, Any]:
        """The SMART launch context parameters of a token response."""
        params: dict[str, Any] = {
            "patient": self.patient,
            "encounter": self.encounter,
            "need_patient_banner": self.need_patient_banner,
            "smart_style_url": self.smart_style_url,
        }
        return {k: v for k, v in params.items() if v is not None}

    def granted_scope(self, requested: str) -> str:
        """The scopes this user may approve: patient/ ones only for a portal user."""
        if user_type(self.fhir_user) in PORTAL_USER_TYPES:
            return patient_scopes_only(requested)
        return requested


def wants_refresh_token(scope: str | None) -> bool:
    """True when the scopes ask for a refresh token."""
    return bool(REFRESH_SCOPES.intersection(scope_list(scope)))


class SmartAuthorizationCodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
    """The authorization code grant over the sandbox tables."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def generate_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """A token; with a refresh token only when offline/online access was granted."""
        if not wants_refresh_token(kwargs.get("scope")):
            kwargs["include_refresh_token"] = False
        token: dict[str, Any] = super().generate_token(*args, **kwargs)
        return token

    def save_authorization_code(self, code: str, request: Any) -> None:
        """Store the code with the user and launch context it grants."""
        user: AuthorizedUser = request.user
        now = int(time.time())
        db().add(
            AuthorizationCode(
                code_digest=digest(code),
                client_id=request.client.client_id,
                redirect_uri=request.payload.redirect_uri,
                scope=user.granted_scope(request.scope),
                nonce=request.payload.data.get("nonce"),
                code_challenge=request.payload.data.get("code_challenge"),
                code_challenge_method=request.payload.data.get("code_challenge_method"),
                auth_time=now,
                expires_at=now + CODE_LIFETIME_S,
                subject=user.subject,
                fhir_user=user.fhir_user,
                patient=user.patient,
                encounter=user.encounter,
                need_patient_banner=user.need_patient_banner,
                smart_style_url=user.smart_style_url,
            )
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> AuthorizationCode | None:
        """The unexpired code issued to this client (a redeemed code is deleted)."""
        row = db().get(AuthorizationCode, digest(code))
        if row is None or row.client_id != client.client_id or row.is_expired():
            return None
        return row

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Delete a redeemed code so it cannot be used twice."""
        db().delete(authorization_code)
        db().flush()

    def authenticate_user(self, authorization_code: AuthorizationCode) -> AuthorizedUser:
        """The user who approved the code."""
        return AuthorizedUser.of(authorization_code)


class SmartRefreshTokenGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
    """Refresh with rotation: each refresh token works once and yields a new one."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def generate_token(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        """A token; a new refresh token only while offline/online access is kept."""
        if not wants_refresh_token(kwargs.get("scope")) or not _rotates():
            kwargs["include_refresh_token"] = False
        token: dict[str, Any] = super().generate_token(*args, **kwargs)
        return token

    def authenticate_refresh_token(self, refresh_token: str) -> IssuedToken | None:
        """The token row of a usable refresh token."""
        query = select(IssuedToken).where(IssuedToken.refresh_digest == digest(refresh_token))
        row = db().scalars(query).first()
        return row if row is not None and row.refresh_usable() else None

    def authenticate_user(self, refresh_token: IssuedToken) -> AuthorizedUser:
        """The user and launch context of the original grant, kept across refreshes."""
        return AuthorizedUser.of(refresh_token)

    def revoke_old_credential(self, refresh_token: IssuedToken) -> None:
        """Retire the redeemed refresh token (when rotating); its access token lives on."""
        if _rotates():
            refresh_token.refresh_revoked = True


def _rotates() -> bool:
    # Many EHRs rotate refresh tokens; some (settings.rotate_refresh_tokens=False) keep
    # one for the whole session and answer refreshes without a new one.
    return current_state().settings.rotate_refresh_tokens


class S256CodeChallenge(CodeChallenge):  # type: ignore[misc]
    """PKCE where every authorization request needs an S256 code_challenge."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 (authlib's attribute name)
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        """Refuse requests without a challenge, or with `plain` (SMART 2.2 forbids it)."""
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': PKCE S256 is required")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)


class SmartLaunchChecks:
    """Checks `aud` and `launch` once the client and redirect_uri are trusted.

    Raised here, authlib sends the error back to the redirect_uri with `state`.
    """

    def __call__(self, grant: Any) -> None:
        """Attach the checks to a grant."""
        grant.register_hook("after_validate_authorization_request_payload", self.check)

    def check(self, grant: Any, redirect_uri: str) -> None:
        """Refuse a foreign audience or an unknown launch id."""
        data = grant.request.payload.data
        fhir_base = current_state().settings.fhir_base
        if data.get("aud", "").rstrip("/") != fhir_base:
            raise InvalidRequestError(f"'aud' must be this FHIR server's base URL: {fhir_base}")
        launch_id = data.get("launch")
        if launch_id is not None and find_launch(db(), launch_id) is None:
            raise InvalidRequestError("Unknown or expired 'launch': open the app from the EHR")


class LaunchContextResponse:
    """Adds the SMART launch context to the token response of a grant."""

    def __call__(self, grant: Any) -> None:
        """Attach to a grant."""
        grant.register_hook("after_create_token_response", self.add_context)

    def add_context(self, grant: Any, response: tuple[int, dict[str, Any], Any]) -> None:
        """Copy patient, encounter, banner and style into the token response."""
        user: AuthorizedUser = grant.request.user
        response[1].update(user.launch_parameters())


class SmartOpenIDCode(OpenIDCode):  # type: ignore[misc]
    """OpenID Connect id_tokens with the SMART `fhirUser` claim, signed RS256."""

    def exists_nonce(self, nonce: str, request: Any) -> bool:
        """True when a pending code of this client already used the nonce."""
        query = select(AuthorizationCode.code_digest).where(
            AuthorizationCode.client_id == request.payload.client_id,
            AuthorizationCode.nonce == nonce,
        )
        return db().scalars(query).first() is not None

    def resolve_client_private_key(self, client: OAuthClient) -> RSAKey:
        """The server's signing key."""
        return signing_key(db())

    def get_client_algorithm(self, client: OAuthClient) -> str:
        """RS256, which every OpenID relying party supports."""
        return ID_TOKEN_ALG

    def get_encode_header(self, client: OAuthClient) -> dict[str, str]:
        """The JWS header naming the key, so clients pick it from the JWKS."""
        return {"alg": ID_TOKEN_ALG, "kid": str(signing_key(db()).kid)}

    def get_client_claims(self, client: OAuthClient) -> dict[str, Any]:
        """iss is the FHIR base (SMART 2.2 sso-openid-connect); aud the client."""
        settings = current_state().settings
        now = int(time.time())
        return {
            "iss": settings.fhir_base,
            "aud": client.client_id,
            "iat": now,
            "exp": now + settings.access_token_lifetime_s,
        }

    def generate_user_info(self, user: AuthorizedUser, scope: str) -> dict[str, Any]:
        """sub, and fhirUser when known."""
        info: dict[str, Any] = {"sub": user.subject}
        if user.fhir_user is not None:
            info["fhirUser"] = user.fhir_user
        return info
