"""SMART discovery: `{iss}/.well-known/smart-configuration`, cached with a TTL.

Tolerant on purpose (https://hl7.org/fhir/smart-app-launch/conformance.html): EHRs add
fields and omit optional ones, so only what a launch truly needs is required, the token
endpoint and PKCE S256, and relative URLs are resolved against the discovery URL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import requests

from launch.errors import DiscoveryFailed

DEFAULT_TTL_S = 3600.0


@dataclass(frozen=True, slots=True)
class SmartConfiguration:
    """The parts of an EHR's SMART configuration a launch uses."""

    issuer: str | None
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str | None
    introspection_endpoint: str | None
    capabilities: frozenset[str]
    scopes_supported: frozenset[str]
    token_endpoint_auth_methods: frozenset[str]


def discovery_url(iss: str) -> str:
    """Where the SMART configuration of FHIR base `iss` lives."""
    return f"{iss.rstrip('/')}/.well-known/smart-configuration"


def parse_smart_configuration(url: str, body: Any) -> SmartConfiguration:
    """Turn a discovery document into a SmartConfiguration, or raise DiscoveryFailed."""
    if not isinstance(body, dict):
        raise DiscoveryFailed(f"{url} did not return a JSON object")
    token_endpoint = body.get("token_endpoint")
    if not isinstance(token_endpoint, str) or not token_endpoint:
        raise DiscoveryFailed(f"{url} has no token_endpoint")
    methods = body.get("code_challenge_methods_supported") or []
    # SMART 2.x requires S256 and Flip never falls back to `plain` or to no PKCE.
    if "S256" not in methods:
        raise DiscoveryFailed(f"{url} does not list PKCE S256 in code_challenge_methods_supported")
    authorize = body.get("authorization_endpoint")
    if not isinstance(authorize, str) or not authorize:
        raise DiscoveryFailed(f"{url} has no authorization_endpoint")

    def absolute(value: Any) -> str | None:
        return urljoin(url, value) if isinstance(value, str) and value else None

    return SmartConfiguration(
        issuer=body.get("issuer") if isinstance(body.get("issuer"), str) else None,
        authorization_endpoint=urljoin(url, authorize),
        token_endpoint=urljoin(url, token_endpoint),
        jwks_uri=absolute(body.get("jwks_uri")),
        introspection_endpoint=absolute(body.get("introspection_endpoint")),
        capabilities=_strings(body.get("capabilities")),
        scopes_supported=_strings(body.get("scopes_supported")),
        token_endpoint_auth_methods=_strings(body.get("token_endpoint_auth_methods_supported")),
    )


def _strings(value: Any) -> frozenset[str]:
    return (
        frozenset(v for v in value if isinstance(v, str))
        if isinstance(value, list)
        else frozenset()
    )


class DiscoveryCache:
    """Fetches and caches SMART configurations per iss for `ttl_s` seconds."""

    def __init__(
        self,
        http: requests.Session,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._ttl_s = ttl_s
        self._clock = clock
        self._entries: dict[str, tuple[float, SmartConfiguration]] = {}
        self._lock = threading.Lock()

    def get(self, iss: str) -> SmartConfiguration:
        """The SMART configuration of `iss`, from cache while fresh."""
        now = self._clock()
        with self._lock:
            cached = self._entries.get(iss)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        configuration = self._fetch(iss)
        with self._lock:
            self._entries[iss] = (now, configuration)
        return configuration

    def _fetch(self, iss: str) -> SmartConfiguration:
        url = discovery_url(iss)
        try:
            response = self._http.get(url, headers={"Accept": "application/json"}, timeout=10)
        except requests.RequestException as exc:
            raise DiscoveryFailed(f"{url} is unreachable ({type(exc).__name__})") from exc
        if response.status_code != 200:
            raise DiscoveryFailed(f"{url} answered HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise DiscoveryFailed(f"{url} did not return JSON") from exc
        return parse_smart_configuration(url, body)
