"""SMART discovery: the configuration an app reads before it launches."""

from __future__ import annotations

import requests

from tests.conftest import LiveSandbox


def test_smart_configuration_lists_required_fields_and_s256_only(sandbox: LiveSandbox) -> None:
    response = requests.get(f"{sandbox.fhir_base}/.well-known/smart-configuration", timeout=5)
    assert response.status_code == 200
    config = response.json()
    assert config["issuer"] == sandbox.fhir_base
    assert config["authorization_endpoint"] == f"{sandbox.url}/auth/authorize"
    assert config["token_endpoint"] == f"{sandbox.url}/auth/token"
    assert config["jwks_uri"] == f"{sandbox.url}/auth/jwks"
    assert config["code_challenge_methods_supported"] == ["S256"]
    assert config["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert set(config["token_endpoint_auth_signing_alg_values_supported"]) == {"RS384", "ES384"}
    assert {"launch-ehr", "launch-standalone", "sso-openid-connect", "permission-v2"} <= set(
        config["capabilities"]
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_openid_configuration_names_the_same_issuer_and_keys(sandbox: LiveSandbox) -> None:
    config = requests.get(f"{sandbox.fhir_base}/.well-known/openid-configuration", timeout=5).json()
    jwks = requests.get(config["jwks_uri"], timeout=5).json()
    assert config["issuer"] == sandbox.fhir_base
    assert config["id_token_signing_alg_values_supported"] == ["RS256"]
    assert [k["kty"] for k in jwks["keys"]] == ["RSA"]
    assert all("d" not in k for k in jwks["keys"])  # never the private part
