"""Who is calling the CDS service: the JWT a CDS client sends (CDS Hooks 2.0).

https://cds-hooks.hl7.org/2.0/#trusting-cds-clients: each request carries
`Authorization: Bearer <JWT>` signed with ES384 or RS384; `iss` names the client, `aud`
is the service's URL, `exp` is near, `jti` is used once. Flip accepts a token only when
its iss is an allowed CDS client, the signature checks against that client's key set
(its `jwks_url`, or a `jku` header it allowlists), aud is exactly this service's URL,
exp is in the future (and within MAX_LIFETIME_S) and the jti was never seen before. The
seen jtis live in the database, so every worker refuses a replay. A refusal never says
which check failed to the caller and never logs the token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwt import ClaimsOption
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from launch.jwks import JwksCache, JwksUnavailable
from smart_app.core.db import db
from smart_app.core.models import CdsTokenId
from smart_app.team.cds_clients import CdsClient, CdsClients

log = logging.getLogger(__name__)

ALGORITHMS = ["ES384", "RS384"]  # the two CDS Hooks 2.0 names; "none" and HS* never
LEEWAY_S = 30  # clock skew between the EHR and Flip
# The spec asks for exp no more than 5 minutes after iat; a token valid for longer than
# this would also keep its jti row for as long.
MAX_LIFETIME_S = 3600


class CdsUnauthorized(Exception):
    """The request's JWT is missing or refused (the reason is logged, never answered)."""


class CdsTokenVerifier:
    """Checks a CDS client's bearer JWT; `verify` returns the client that signed it."""

    def __init__(
        self,
        clients: CdsClients,
        jwks: JwksCache,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._clients = clients
        self._jwks = jwks
        self._clock = clock

    def verify(self, authorization: str | None, *, audiences: list[str]) -> CdsClient:
        """The allowed client whose valid, unseen JWT this is; CdsUnauthorized otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise CdsUnauthorized("no bearer JWT")
        token = token.strip()
        client, jwks_url = self._signer(token)
        try:
            kid = _header(token).get("kid")
            key_set = self._jwks.key_set(jwks_url, kid=kid if isinstance(kid, str) else None)
            decoded = jwt.decode(token, key_set, ALGORITHMS)
            now = int(self._clock())
            expected: dict[str, ClaimsOption] = {
                "iss": {"essential": True, "value": client.iss},
                "aud": {"essential": True, "values": audiences},
                "exp": {"essential": True},
                "iat": {"essential": True},
                "jti": {"essential": True},
            }
            registry = jwt.JWTClaimsRegistry(now=now, leeway=LEEWAY_S, **expected)
            registry.validate(decoded.claims)
        except (JoseError, JwksUnavailable, ValueError, TypeError) as exc:
            raise CdsUnauthorized(f"JWT refused ({type(exc).__name__})") from exc
        exp = int(decoded.claims["exp"])
        if exp > now + MAX_LIFETIME_S:
            raise CdsUnauthorized("JWT valid for too long")
        if not remember_once(client.iss, str(decoded.claims["jti"]), exp + LEEWAY_S):
            raise CdsUnauthorized("JWT replayed (jti seen before)")
        return client

    def _signer(self, token: str) -> tuple[CdsClient, str]:
        # The iss is read before the signature is checked only to choose whose keys check
        # it; nothing else of an unverified token is used.
        header = _header(token)
        client = self._clients.find(_unverified_claims(token).get("iss"))
        if client is None:
            raise CdsUnauthorized("iss is not an allowed CDS client")
        jku = header.get("jku")
        if jku is None:
            return client, client.jwks_url
        if not isinstance(jku, str) or not client.trusts_jku(jku):
            raise CdsUnauthorized("jku is not on the client's allowlist")
        return client, jku


def remember_once(iss: str, jti: str, expires_at: int) -> bool:
    """Store a token id until `expires_at`; False when it was already stored (a replay)."""
    id_hash = hashlib.sha256(f"{iss}\n{jti}".encode()).hexdigest()
    now = datetime.now(UTC)
    try:
        with db.session() as session:
            # Rows of expired tokens can go: an expired token is refused by its exp anyway.
            session.execute(delete(CdsTokenId).where(CdsTokenId.expires_at < now))
            session.add(
                CdsTokenId(id_hash=id_hash, expires_at=datetime.fromtimestamp(expires_at, UTC))
            )
    except IntegrityError:
        return False
    return True


def _header(token: str) -> dict[str, object]:
    try:
        return dict(jws.extract_compact(token.encode()).headers())
    except (JoseError, ValueError, TypeError) as exc:
        raise CdsUnauthorized("not a compact JWS") from exc


def _unverified_claims(token: str) -> dict[str, object]:
    try:
        claims = json.loads(jws.extract_compact(token.encode()).payload)
    except (JoseError, ValueError, TypeError) as exc:
        raise CdsUnauthorized("JWT payload is not JSON") from exc
    if not isinstance(claims, dict):
        raise CdsUnauthorized("JWT payload is not an object")
    return claims


def refusal_logged(error: CdsUnauthorized) -> None:
    """Log why a CDS request was refused: the reason only, never the token."""
    log.info("CDS Hooks request refused: %s", error)
