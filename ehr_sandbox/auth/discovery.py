"""SMART configuration and OpenID provider metadata: only what the server really does.

Fields per https://hl7.org/fhir/smart-app-launch/conformance.html#metadata and
capabilities per https://hl7.org/fhir/smart-app-launch/conformance.html#capabilities.
"""

from __future__ import annotations

from typing import Any

from ehr_sandbox.auth.keys import ID_TOKEN_ALG
from ehr_sandbox.auth.server import ASSERTION_ALGS
from ehr_sandbox.config import SandboxSettings

CAPABILITIES = [
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-passthrough-banner",
    "context-passthrough-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
    "sso-openid-connect",
]
SCOPES_SUPPORTED = [
    "openid",
    "fhirUser",
    "launch",
    "launch/patient",
    "offline_access",
    "online_access",
    "patient/*.cruds",
    "patient/*.rs",
    "user/*.cruds",
    "user/*.rs",
    "patient/*.read",
    "patient/*.write",
    "user/*.read",
    "user/*.write",
]


def _endpoints(settings: SandboxSettings) -> dict[str, str]:
    auth = f"{settings.public_url.rstrip('/')}/auth"
    return {
        "issuer": settings.fhir_base,
        "jwks_uri": f"{auth}/jwks",
        "authorization_endpoint": f"{auth}/authorize",
        "token_endpoint": f"{auth}/token",
        "introspection_endpoint": f"{auth}/introspect",
    }


def smart_configuration(settings: SandboxSettings) -> dict[str, Any]:
    """The `.well-known/smart-configuration` document."""
    return {
        **_endpoints(settings),
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
        "scopes_supported": SCOPES_SUPPORTED,
        "response_types_supported": ["code"],
        # SMART 2.2: S256 required, and servers must not advertise `plain`.
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    }


def openid_configuration(settings: SandboxSettings) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 metadata for the same issuer."""
    return {
        **_endpoints(settings),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ID_TOKEN_ALG],
        "scopes_supported": ["openid", "fhirUser"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "private_key_jwt",
            "none",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGS,
    }
