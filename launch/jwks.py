"""JSON Web Key Sets fetched over HTTP and cached: an id_token's issuer, a CDS client.

Each URL's key set is cached for `ttl_s` and fetched again, once, when a token names a
`kid` the cached set lacks: a signer that rotates its keys is followed without a restart
(https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from launch.errors import LaunchError

DEFAULT_JWKS_TTL_S = 3600.0


class JwksUnavailable(LaunchError):
    """A JWKS URL did not answer with a usable key set (the message names no key)."""


class JwksCache:
    """Key sets by URL, each kept for `ttl_s`, refetched on an unknown `kid`."""

    def __init__(
        self,
        http: requests.Session,
        *,
        ttl_s: float = DEFAULT_JWKS_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        timeout_s: float = 10.0,
    ) -> None:
        self._http = http
        self._ttl_s = ttl_s
        self._clock = clock
        self._timeout_s = timeout_s
        self._key_sets: dict[str, tuple[float, KeySet]] = {}
        self._lock = threading.Lock()

    def key_set(self, url: str, *, kid: str | None) -> KeySet:
        """The key set at `url`, from the cache unless stale or lacking `kid`."""
        now = self._clock()
        with self._lock:
            cached = self._key_sets.get(url)
        if cached is not None and now - cached[0] < self._ttl_s:
            key_set = cached[1]
            if kid is None or any(key.kid == kid for key in key_set.keys):
                return key_set
            # An unknown kid: the signer may have rotated its keys since. One fetch per
            # token; callers check who signed (iss) before asking, so strangers cannot.
        key_set = self._fetch(url)
        with self._lock:
            self._key_sets[url] = (now, key_set)
        return key_set

    def _fetch(self, url: str) -> KeySet:
        try:
            response = self._http.get(url, timeout=self._timeout_s)
            response.raise_for_status()
            return KeySet.import_key_set(response.json())
        except (requests.RequestException, ValueError, JoseError) as exc:
            raise JwksUnavailable(f"cannot read the JWKS ({type(exc).__name__})") from exc
