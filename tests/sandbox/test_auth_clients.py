"""Client authentication: public, client_secret_basic and private_key_jwt (RS384/ES384)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from ehr_sandbox.auth import load_clients_file
from ehr_sandbox.auth.models import OAuthClient
from ehr_sandbox.launch_context import LaunchContext
from ehr_sandbox.state import current_state
from tests.conftest import start_sandbox
from tests.sandbox.conftest import REDIRECT_URI, SmartFlow

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _key(alg: str) -> RSAKey | ECKey:
    if alg == "RS384":
        return RSAKey.generate_key(2048, parameters={"alg": alg}, auto_kid=True)
    return ECKey.generate_key("P-384", parameters={"alg": alg}, auto_kid=True)


def _assertion(smart: SmartFlow, key: RSAKey | ECKey, alg: str, **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": smart.client_id,
        "sub": smart.client_id,
        "aud": smart.token_url,
        "exp": now + 240,
        "jti": str(uuid.uuid4()),
        **claims,
    }
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, body, key, algorithms=[alg])


def _code(smart: SmartFlow) -> str:
    launch = smart.launch(LaunchContext(patient="p1"))
    return smart.code_from(smart.authorize(launch=launch))


def _asymmetric(smart: SmartFlow, alg: str) -> RSAKey | ECKey:
    key = _key(alg)
    jwks = KeySet([key]).as_dict(private=False)
    smart.register(client_type="asymmetric", jwks=jwks)
    return key


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_private_key_jwt_client_gets_a_token(smart: SmartFlow, alg: str) -> None:
    key = _asymmetric(smart, alg)
    assertion = _assertion(smart, key, alg)
    response = smart.exchange(
        _code(smart), client_assertion_type=ASSERTION_TYPE, client_assertion=assertion
    )
    assert response.status_code == 200, response.text
    assert response.json()["patient"] == "p1"


def test_bad_assertions_are_refused(smart: SmartFlow) -> None:
    key = _asymmetric(smart, "ES384")
    replayed = _assertion(smart, key, "ES384")
    first = smart.exchange(
        _code(smart), client_assertion_type=ASSERTION_TYPE, client_assertion=replayed
    )
    assert first.status_code == 200
    bad = {
        "expired": _assertion(smart, key, "ES384", exp=int(time.time()) - 300),
        "wrong aud": _assertion(smart, key, "ES384", aud=f"{smart.sandbox.url}/elsewhere"),
        "replayed jti": replayed,
        "other key": _assertion(smart, _key("ES384"), "ES384"),
    }
    for reason, assertion in bad.items():
        response = smart.exchange(
            _code(smart), client_assertion_type=ASSERTION_TYPE, client_assertion=assertion
        )
        assert response.status_code in (400, 401), reason
        assert response.json()["error"] == "invalid_client", reason


def test_asymmetric_client_cannot_skip_authentication(smart: SmartFlow) -> None:
    _asymmetric(smart, "RS384")
    response = smart.exchange(_code(smart))
    assert response.json()["error"] == "invalid_client"


def test_symmetric_client_needs_its_secret(smart: SmartFlow) -> None:
    smart.register(client_type="symmetric", client_secret="s3cret-value")
    wrong = smart.http.post(
        smart.token_url,
        data={
            "grant_type": "authorization_code",
            "code": _code(smart),
            "redirect_uri": REDIRECT_URI,
            "code_verifier": smart.verifier,
        },
        auth=(smart.client_id, "wrong-secret"),
        timeout=5,
    )
    right = smart.http.post(
        smart.token_url,
        data={
            "grant_type": "authorization_code",
            "code": _code(smart),
            "redirect_uri": REDIRECT_URI,
            "code_verifier": smart.verifier,
        },
        auth=(smart.client_id, "s3cret-value"),
        timeout=5,
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert right.status_code == 200, right.text


def test_clients_file_registers_every_client(smart: SmartFlow, tmp_path: Path) -> None:
    path = tmp_path / "clients.json"
    entries = [
        {
            "client_id": "from-file",
            "client_name": "From File",
            "redirect_uris": [REDIRECT_URI],
            "client_type": "symmetric",
            "client_secret": "file-secret",
            "scope": "launch patient/*.rs",
        }
    ]
    path.write_text(json.dumps({"clients": entries}), encoding="utf-8")
    with smart.sandbox.app.app_context(), current_state().db.session() as session:
        load_clients_file(session, path)
    with smart.sandbox.app.app_context(), current_state().db.session() as session:
        client = session.get(OAuthClient, "from-file")
        assert client is not None
        assert client.check_client_secret("file-secret")
        assert client.get_allowed_scope("launch openid patient/*.rs") == "launch patient/*.rs"


def test_sandbox_started_with_a_clients_file_accepts_its_app(
    database_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "clients.json"
    entry = {"client_id": "demo-app", "redirect_uris": [REDIRECT_URI], "client_type": "public"}
    path.write_text(json.dumps({"clients": [entry]}), encoding="utf-8")
    for sandbox in start_sandbox(database_url, clients_file=str(path)):
        smart = SmartFlow(sandbox, client_id="demo-app")
        smart.seed("Patient", "p1")
        token = smart.ehr_token()
        assert token["patient"] == "p1"
