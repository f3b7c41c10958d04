"""OpenID Connect id_token validation against the issuer's JWKS (joserfc)."""

from __future__ import annotations

import threading

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import ClaimsOption

from launch.discovery import SmartConfiguration
from launch.errors import IdTokenInvalid

ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]


class IdTokenValidator:
    """Checks signature, iss, aud, exp and nonce; caches each issuer's JWKS."""

    def __init__(self, http: requests.Session) -> None:
        self._http = http
        self._key_sets: dict[str, KeySet] = {}
        self._lock = threading.Lock()

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
        if configuration.jwks_uri is None:
            raise IdTokenInvalid("the EHR publishes no jwks_uri to check the id_token with")
        try:
            token = jwt.decode(id_token, self._key_set(configuration.jwks_uri), ALGORITHMS)
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

    def _key_set(self, jwks_uri: str) -> KeySet:
        with self._lock:
            cached = self._key_sets.get(jwks_uri)
        if cached is not None:
            return cached
        try:
            response = self._http.get(jwks_uri, timeout=10)
            response.raise_for_status()
            key_set = KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, JoseError) as exc:
            raise IdTokenInvalid(f"cannot read the EHR's JWKS ({type(exc).__name__})") from exc
        with self._lock:
            self._key_sets[jwks_uri] = key_set
        return key_set
