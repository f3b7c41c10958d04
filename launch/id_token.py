"""OpenID Connect id_token validation against the issuer's JWKS (joserfc).

Each issuer's key set is cached for `ttl_s` and fetched again, once, when an id_token
names a `kid` the cached set lacks: an EHR that rotates its signing keys is followed
without a restart (https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import GuestProtocol, KeySet
from joserfc.jwt import ClaimsOption

from launch.discovery import SmartConfiguration
from launch.errors import IdTokenInvalid

ALGORITHMS = ["RS256", "RS384", "ES256", "ES384"]
DEFAULT_JWKS_TTL_S = 3600.0


class IdTokenValidator:
    """Checks signature, iss, aud, exp and nonce; caches each issuer's JWKS for `ttl_s`."""

    def __init__(
        self,
        http: requests.Session,
        *,
        ttl_s: float = DEFAULT_JWKS_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._ttl_s = ttl_s
        self._clock = clock
        self._key_sets: dict[str, tuple[float, KeySet]] = {}
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
        now = self._clock()
        with self._lock:
            cached = self._key_sets.get(jwks_uri)
        if cached is not None and now - cached[0] < self._ttl_s:
            key_set = cached[1]
            if kid is None or any(key.kid == kid for key in key_set.keys):
                return key_set
            # An unknown kid: the EHR may have rotated its keys since. One fetch per
            # id_token, and id_tokens come from the token endpoint, not from the browser.
        key_set = self._fetch(jwks_uri)
        with self._lock:
            self._key_sets[jwks_uri] = (now, key_set)
        return key_set

    def _fetch(self, jwks_uri: str) -> KeySet:
        try:
            response = self._http.get(jwks_uri, timeout=10)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, JoseError) as exc:
            raise IdTokenInvalid(f"cannot read the EHR's JWKS ({type(exc).__name__})") from exc
