"""Tables of the authorization server: clients, codes, tokens, signing keys, used assertions,
portal sign-in tickets.

Tokens and client secrets are stored as SHA-256 digests, so a copy of the database does
not hand out working credentials. The row classes implement the small interfaces authlib's
grants call (`ClientMixin`, `AuthorizationCodeMixin`, `TokenMixin`), written out here so
they are typed.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from enum import Enum
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ehr_sandbox.db import Base


def digest(secret: str) -> str:
    """The SHA-256 hex digest under which a token or secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def scope_list(scope: str | None) -> list[str]:
    """A space-separated scope string as a list, in order, without duplicates."""
    return list(dict.fromkeys((scope or "").split()))


class ClientType(Enum):
    """How a client authenticates at the token endpoint (SMART 2.2 client types)."""

    PUBLIC = "public"  # no secret: token_endpoint_auth_method "none", PKCE only
    SYMMETRIC = "symmetric"  # client_secret_basic
    ASYMMETRIC = "asymmetric"  # private_key_jwt (RS384 / ES384 assertions)

    @property
    def auth_method(self) -> str:
        """The RFC 7591 token_endpoint_auth_method name of this client type."""
        return {
            ClientType.PUBLIC: "none",
            ClientType.SYMMETRIC: "client_secret_basic",
            ClientType.ASYMMETRIC: "private_key_jwt",
        }[self]


class OAuthClient(Base):
    """A registered SMART app."""

    __tablename__ = "sandbox_auth_client"

    client_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    client_name: Mapped[str] = mapped_column(String(200))
    client_type: Mapped[str] = mapped_column(String(20))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    secret_digest: Mapped[str | None] = mapped_column(String(64))
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_url: Mapped[str | None] = mapped_column(String(500))
    # Space-separated scopes the client may be granted; None means any requested scope.
    scope: Mapped[str | None] = mapped_column(Text)

    @property
    def type(self) -> ClientType:
        """The client's type as an enum."""
        return ClientType(self.client_type)

    def get_client_id(self) -> str:
        """The client id."""
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """None: SMART apps always send redirect_uri, so there is no default."""
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client may be granted."""
        requested = scope_list(scope)
        if self.scope is None:
            return " ".join(requested)
        allowed = set(scope_list(self.scope))
        return " ".join(s for s in requested if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """Exact match against the registered list (RFC 9700 section 4.1.3)."""
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        """True when the secret matches the stored digest."""
        if self.secret_digest is None:
            return False
        return hmac.compare_digest(digest(client_secret), self.secret_digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Each client type authenticates one way, at the token and introspection endpoints."""
        return method == self.type.auth_method

    def check_response_type(self, response_type: str) -> bool:
        """SMART uses the authorization code flow only."""
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        """Every client may use codes and refresh tokens."""
        return grant_type in ("authorization_code", "refresh_token")


class AuthorizationCode(Base):
    """An issued, not yet redeemed authorization code with the context it grants."""

    __tablename__ = "sandbox_auth_code"

    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(200))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    scope: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str | None] = mapped_column(String(500))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(10))
    auth_time: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[int] = mapped_column(Integer)
    subject: Mapped[str] = mapped_column(String(200))
    fhir_user: Mapped[str | None] = mapped_column(String(500))
    patient: Mapped[str | None] = mapped_column(String(64))
    encounter: Mapped[str | None] = mapped_column(String(64))
    need_patient_banner: Mapped[bool | None] = mapped_column(Boolean)
    smart_style_url: Mapped[str | None] = mapped_column(String(500))

    def get_redirect_uri(self) -> str:
        """The redirect_uri the code was issued for."""
        return self.redirect_uri

    def get_scope(self) -> str:
        """The granted scopes."""
        return self.scope

    def get_nonce(self) -> str | None:
        """The OpenID Connect nonce to echo in the id_token."""
        return self.nonce

    def get_auth_time(self) -> int:
        """When the user authenticated (epoch seconds)."""
        return self.auth_time

    def get_acr(self) -> None:
        """No authentication context class in the sandbox."""
        return None

    def get_amr(self) -> None:
        """No authentication methods references in the sandbox."""
        return None

    def is_expired(self) -> bool:
        """True after the code's short lifetime."""
        return time.time() >= self.expires_at


class IssuedToken(Base):
    """An access token and its refresh token, with the launch context they carry."""

    __tablename__ = "sandbox_auth_token"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(200), index=True)
    access_digest: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[int] = mapped_column(Integer)
    expires_in: Mapped[int] = mapped_column(Integer)
    refresh_expires_at: Mapped[int | None] = mapped_column(Integer)
    access_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    refresh_revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    subject: Mapped[str] = mapped_column(String(200))
    fhir_user: Mapped[str | None] = mapped_column(String(500))
    patient: Mapped[str | None] = mapped_column(String(64))
    encounter: Mapped[str | None] = mapped_column(String(64))
    need_patient_banner: Mapped[bool | None] = mapped_column(Boolean)
    smart_style_url: Mapped[str | None] = mapped_column(String(500))

    def check_client(self, client: OAuthClient) -> bool:
        """True when the token was issued to this client."""
        return self.client_id == client.client_id

    def get_scope(self) -> str:
        """The granted scopes."""
        return self.scope

    def get_expires_in(self) -> int:
        """Access token lifetime in seconds."""
        return self.expires_in

    def get_expires_at(self) -> int:
        """When the access token expires (epoch seconds)."""
        return self.issued_at + self.expires_in

    def is_expired(self) -> bool:
        """True once the access token's lifetime has passed."""
        return time.time() >= self.get_expires_at()

    def is_revoked(self) -> bool:
        """True when the access token was revoked."""
        return self.access_revoked

    def refresh_usable(self) -> bool:
        """True while the refresh token may be redeemed."""
        return (
            self.refresh_digest is not None
            and not self.refresh_revoked
            and self.refresh_expires_at is not None
            and time.time() < self.refresh_expires_at
        )


class SigningKey(Base):
    """A private JWK the server signs id_tokens with; generated once, kept across restarts."""

    __tablename__ = "sandbox_auth_signing_key"

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[int] = mapped_column(Integer)


class UsedAssertion(Base):
    """A client assertion `jti` already seen, to refuse replays (RFC 7523 section 3)."""

    __tablename__ = "sandbox_auth_used_assertion"

    client_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    jti: Mapped[str] = mapped_column(String(200), primary_key=True)
    expires_at: Mapped[int] = mapped_column(Integer)


class PortalTicket(Base):
    """A one-time link that signs a browser in to the portal (`flip sandbox portal-url`)."""

    __tablename__ = "sandbox_portal_ticket"

    ticket_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    user: Mapped[str] = mapped_column(String(200))  # "Patient/ID" or "RelatedPerson/ID"
    app_launch_url: Mapped[str] = mapped_column(String(500))
    # The user already approved the app: the next authorization skips the consent page.
    pre_approved: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[int] = mapped_column(Integer)

    def is_expired(self) -> bool:
        """True after the ticket's short lifetime."""
        return time.time() >= self.expires_at
