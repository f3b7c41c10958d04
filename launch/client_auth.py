"""`private_key_jwt` client authentication with SMART's rules.

SMART Backend Services / asymmetric client auth
(https://hl7.org/fhir/smart-app-launch/client-confidential-asymmetric.html) requires
RS384 or ES384, `exp` no more than five minutes ahead, a unique `jti` and a `kid` header.
authlib's PrivateKeyJWT defaults to RS256 and a one-hour lifetime, and reuses a `claims`
dict it is given across calls (which would repeat the jti), so each assertion is signed
here with fresh claims.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from joserfc.jwk import ECKey, RSAKey

ASSERTION_LIFETIME_S = 300


class SmartPrivateKeyJWT(PrivateKeyJWT):  # type: ignore[misc]
    """authlib's PrivateKeyJWT with SMART's algorithm, lifetime and headers."""

    def __init__(self, token_endpoint: str, *, private_jwk: Mapping[str, Any], alg: str):
        super().__init__(token_endpoint, alg=alg)
        key_type = ECKey if alg.startswith("ES") else RSAKey
        self._key = key_type.import_key(dict(private_jwk))
        self._kid = private_jwk.get("kid") or self._key.thumbprint()

    def sign(self, auth: Any, token_endpoint: str) -> str:
        """A fresh assertion: new jti, exp five minutes out, kid and typ headers."""
        now = int(time.time())
        assertion: str = private_key_jwt_sign(
            self._key,
            client_id=auth.client_id,
            token_endpoint=token_endpoint,
            alg=self.alg,
            claims={"exp": now + ASSERTION_LIFETIME_S},
            header={"kid": self._kid, "typ": "JWT"},
            issued_at=now,
        )
        return assertion
