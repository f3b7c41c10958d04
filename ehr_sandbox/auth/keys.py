"""The server's id_token signing key: generated on first use, stored, published as JWKS.

OpenID Connect Core 1.0 section 15.1 makes RS256 the algorithm every relying party
supports, so the sandbox signs id_tokens with an RSA key. Every stored key is published
at /auth/jwks; if two workers raced to create the first key, both stay verifiable.
"""

from __future__ import annotations

import time
from typing import Any

from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from ehr_sandbox.auth.models import SigningKey

ID_TOKEN_ALG = "RS256"  # noqa: S105 (an algorithm name, not a secret)
# Importing a private RSA JWK re-validates the key (tens of milliseconds): keep each one.
_IMPORTED: dict[str, RSAKey] = {}


def signing_key(session: Session) -> RSAKey:
    """The oldest stored signing key, created (and stored) when there is none."""
    record = session.scalars(select(SigningKey).order_by(SigningKey.created_at)).first()
    if record is None:
        key = RSAKey.generate_key(
            2048, parameters={"alg": ID_TOKEN_ALG, "use": "sig"}, auto_kid=True
        )
        record = SigningKey(
            kid=key.kid, private_jwk=key.as_dict(private=True), created_at=int(time.time())
        )
        session.add(record)
        session.flush()
    return _imported(record)


def public_jwks(session: Session) -> dict[str, Any]:
    """The public JWK Set of every signing key."""
    signing_key(session)  # make sure there is at least one
    keys = [_imported(r) for r in session.scalars(select(SigningKey))]
    return dict(KeySet(list(keys)).as_dict(private=False))


def _imported(record: SigningKey) -> RSAKey:
    key = _IMPORTED.get(record.kid)
    if key is None:
        key = _IMPORTED[record.kid] = RSAKey.import_key(record.private_jwk)
    return key
