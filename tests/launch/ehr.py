"""A fake EHR's identity for the launch unit tests: its URLs, discovery and signing key."""

from __future__ import annotations

import time
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

ISS = "https://ehr.example.org/fhir"
TOKEN_URL = "https://ehr.example.org/auth/token"
JWKS_URL = "https://ehr.example.org/auth/jwks"
SMART_CONFIGURATION = {
    "issuer": ISS,
    "authorization_endpoint": "/auth/authorize",  # relative: resolved against discovery
    "token_endpoint": TOKEN_URL,
    "jwks_uri": JWKS_URL,
    "code_challenge_methods_supported": ["S256"],
    "capabilities": ["launch-ehr"],
    "vendor_extra_field": {"tolerated": True},
}
ISSUER_KEY = RSAKey.generate_key(2048, parameters={"kid": "ehr-1"})


def id_token(*, key: RSAKey = ISSUER_KEY, **claims: Any) -> str:
    """An id_token for client `flip` signed by `key` (the EHR's current key by default)."""
    now = int(time.time())
    payload = {"iss": ISS, "aud": "flip", "exp": now + 300, "iat": now, "sub": "dr-1", **claims}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, payload, key)
