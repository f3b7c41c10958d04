"""OpenID Connect id_token validation against the issuer's JWKS (joserfc).

Each issuer's key set is cached and refetched on an unknown `kid` (launch/jwks.py): an
EHR that rotates its signing keys is followed without a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, KeySet
from joserfc.jwt import ClaimsOption

from launch.discovery import SmartConfiguration
from launch.errors import IdTokenInvalid
from launch.jwks import DEFAULT_JWKS_TTL_S, JwksCache, JwksUnavailable

ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]


class IdTokenValidator:
    """Checks signature, iss, aud, exp and nonce; caches each issuer's JWKS for `ttl_s`."""

    def __init__(
        self,
        http: requests.Session,
        *,
        ttl_s: float = DEFAULT_JWKS_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._jwks = JwksCache(http, ttl_s=ttl_s, clock=clock)

    def validate(
        self,
        id_token: str,
        *,
        configuration: SmartConfiguration,
        iss: str,
        client_id: str,
        nonce: str | None,
    ) -> dict[str, object]:
        """The id_token's claims, or IdTokenInvalid saying which check failed."""
        jwks_uri = configuration.jwks_uri
        if jwks_uri is None:
            raise IdTokenInvalid("the EHR publishes no jwks_uri to check the id_token with")

        def key_set_for(token: GuestProtocol) -> KeySet:
            kid = token.headers().get("kid")
            return self._key_set(jwks_uri, kid=kid if isinstance(kid, str) else None)

        try:
            token = jwt.decode(id_token, key_set_for, ALGORITHMS)
            issuer = configuration.issuer or iss
            expected: dict[str, ClaimsOption] = {
                "iss": {"essential": True, "value": issuer},
                "aud": {"essential": True, "value": client_id},
                "exp": {"essential": True},
            }
            if nonce is not None:
                expected["nonce"] = {"essential": True, "value": nonce}
            jwt.JWTClaimsRegistry(**expected).validate(token.claims)  # type: ignore[arg-type]
        except (JoseError, ValueError) as exc:
            raise IdTokenInvalid(f"id_token rejected: {exc}") from exc
        return dict(token.claims)

    def _key_set(self, jwks_uri: str, *, kid: str | None) -> KeySet:
        try:
            return self._jwks.key_set(jwks_uri, kid=kid)
        except JwksUnavailable as exc:
            cause = type(exc.__cause__).__name__
            raise IdTokenInvalid(f"cannot read the EHR's JWKS ({cause})") from exc
