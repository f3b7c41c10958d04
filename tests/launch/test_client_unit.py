"""The SMART client on a fake wire: what it sends and how it reads the answers."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey

from launch.context import TokenSet
from launch.discovery import DiscoveryCache, parse_smart_configuration
from launch.errors import (
    AuthorizationDenied,
    DiscoveryFailed,
    IdTokenInvalid,
    StateExpired,
    StateMismatch,
    TokenExchangeFailed,
    UnknownIssuer,
)
from launch.flow import PendingAuthorization, SmartClient
from launch.registrations import Registration, Registrations
from tests.launch.ehr import ISS, ISSUER_KEY, JWKS_URL, SMART_CONFIGURATION, TOKEN_URL, id_token
from tests.support.wire import FakeWire

REDIRECT = "https://flip.example.org/callback"


def token_response(**extra: Any) -> dict[str, Any]:
    return {
        "access_token": "at-1",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "launch patient/Patient.rs",
        "refresh_token": "rt-1",
        "patient": "p1",
        "encounter": "e1",
        "fhirUser": "Practitioner/dr-1",
        "need_patient_banner": False,
        "smart_style_url": "https://ehr.example.org/style.json",
        **extra,
    }


def make_client(wire: FakeWire, registration: Registration) -> SmartClient:
    wire.on("GET", f"{ISS}/.well-known/smart-configuration", (200, SMART_CONFIGURATION))
    wire.on("GET", JWKS_URL, (200, KeySet([ISSUER_KEY]).as_dict(private=False)))
    return SmartClient(Registrations([registration]), redirect_uri=REDIRECT, http=wire.session())


def form(request: Any) -> dict[str, str]:
    return {
        k: v[0]
        for k, v in parse_qs(
            request.body if isinstance(request.body, str) else request.body.decode()
        ).items()
    }


def token_request(wire: FakeWire) -> Any:
    return next(r for r in reversed(wire.sent) if r.url == TOKEN_URL)


def launch_and_callback(
    client: SmartClient, wire: FakeWire, response: dict[str, Any] | None = None
) -> tuple[PendingAuthorization, dict[str, str]]:
    pending = client.begin(ISS, launch="launch-123").pending
    signed = token_response(id_token=id_token(nonce=pending.nonce))
    wire.on("POST", TOKEN_URL, (200, response or signed))
    client.complete(pending, {"code": "code-1", "state": pending.state})
    return pending, form(token_request(wire))


def test_authorize_url_carries_pkce_s256_state_aud_launch_and_nonce() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip", scope="launch openid"))
    request = client.begin(ISS, launch="launch-123")
    url = urlsplit(request.url)
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://ehr.example.org/auth/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == "flip"
    assert query["redirect_uri"] == REDIRECT
    assert query["aud"] == ISS
    assert query["launch"] == "launch-123"
    assert query["code_challenge_method"] == "S256"
    digest = hashlib.sha256(request.pending.code_verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert query["state"] == request.pending.state
    assert len(base64.urlsafe_b64decode(query["state"] + "==")) * 8 >= 128
    assert query["nonce"] == request.pending.nonce


def test_each_launch_gets_its_own_state_and_verifier() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip"))
    first, second = client.begin(ISS, launch="a").pending, client.begin(ISS, launch="a").pending
    assert first.state != second.state
    assert first.code_verifier != second.code_verifier


def test_standalone_launch_asks_for_a_patient_instead_of_an_ehr_launch() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip", scope="launch openid"))
    query = parse_qs(urlsplit(client.begin(ISS).url).query)
    assert "launch" not in query
    assert query["scope"][0].split() == ["openid", "launch/patient"]


def test_standalone_launch_asks_to_write_only_the_patients_own_answers() -> None:
    # And to read only what the pre-visit form reads: the patient's consent screen lists
    # nothing else (no notes, plans, goals or observations).
    scope = (
        "launch openid fhirUser patient/CarePlan.crs patient/Goal.cruds patient/Provenance.c "
        "patient/Observation.write patient/Patient.read patient/Encounter.* "
        "patient/QuestionnaireResponse.cru user/Practitioner.rs patient/DocumentReference.crs "
        "patient/Appointment.crs?date=ge2026-01-01 patient/RelatedPerson.* patient/*.cruds"
    )
    client = make_client(FakeWire(), Registration(iss=ISS, client_id="flip", scope=scope))
    query = parse_qs(urlsplit(client.begin(ISS).url).query)
    assert query["scope"][0].split() == [
        "openid",
        "fhirUser",
        "patient/Patient.read",
        "patient/QuestionnaireResponse.cru",
        "patient/Appointment.rs?date=ge2026-01-01",
        "patient/RelatedPerson.read",
        "patient/*.rs",
        "launch/patient",
    ]


def test_public_client_sends_code_verifier_and_client_id_without_secret() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip"))
    pending, sent = launch_and_callback(client, wire)
    assert sent["grant_type"] == "authorization_code"
    assert sent["code"] == "code-1"
    assert sent["code_verifier"] == pending.code_verifier
    assert sent["redirect_uri"] == REDIRECT
    assert sent["client_id"] == "flip"
    assert "Authorization" not in token_request(wire).headers


def test_symmetric_client_authenticates_with_http_basic() -> None:
    wire = FakeWire()
    registration = Registration(
        iss=ISS, client_id="flip", client_type="symmetric", client_secret="s3cret"
    )
    launch_and_callback(make_client(wire, registration), wire)
    expected = base64.b64encode(b"flip:s3cret").decode()
    assert token_request(wire).headers["Authorization"] == f"Basic {expected}"


@pytest.mark.parametrize(
    ("alg", "key"),
    [
        ("RS384", RSAKey.generate_key(2048, parameters={"kid": "flip-rs"})),
        ("ES384", ECKey.generate_key("P-384", parameters={"kid": "flip-es"})),
    ],
)
def test_asymmetric_client_signs_a_short_lived_unique_assertion(alg: str, key: Any) -> None:
    wire = FakeWire()
    registration = Registration(
        iss=ISS,
        client_id="flip",
        client_type="asymmetric",
        private_jwk=key.as_dict(private=True),
        signing_alg=alg,
    )
    client = make_client(wire, registration)
    assertions = []
    for _ in range(2):
        _, sent = launch_and_callback(client, wire)
        assert sent["client_assertion_type"] == (
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        )
        assertions.append(jwt.decode(sent["client_assertion"], key, algorithms=[alg]))
    for token in assertions:
        assert token.header["alg"] == alg
        assert token.header["kid"] == key.kid
        assert token.claims["iss"] == token.claims["sub"] == "flip"
        assert token.claims["aud"] == TOKEN_URL
        assert 0 < token.claims["exp"] - int(time.time()) <= 300
    assert assertions[0].claims["jti"] != assertions[1].claims["jti"]


def test_token_response_becomes_the_launch_context() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip"))
    pending = client.begin(ISS, launch="l").pending
    signed = id_token(nonce=pending.nonce)
    wire.on(
        "POST",
        TOKEN_URL,
        (200, token_response(fhirUser=f"{ISS}/Practitioner/dr-9", id_token=signed)),
    )
    done = client.complete(pending, {"code": "c", "state": pending.state})
    assert done.context.patient == "p1"
    assert done.context.encounter == "e1"
    assert done.context.fhir_user_reference == "Practitioner/dr-9"
    assert done.context.need_patient_banner is False
    assert done.context.smart_style_url == "https://ehr.example.org/style.json"
    assert done.context.granted_scopes == {"launch", "patient/Patient.rs"}
    assert done.tokens.refresh_token == "rt-1"


def test_callback_with_another_state_is_refused() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip"))
    pending = client.begin(ISS, launch="l").pending
    with pytest.raises(StateMismatch):
        client.complete(pending, {"code": "c", "state": "forged"})
    with pytest.raises(StateMismatch):
        client.complete(None, {"code": "c", "state": pending.state})


def test_callback_after_the_pending_lifetime_is_refused() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip"))
    pending = client.begin(ISS, launch="l").pending
    stale = PendingAuthorization(
        iss=pending.iss,
        state=pending.state,
        code_verifier=pending.code_verifier,
        nonce=pending.nonce,
        scope=pending.scope,
        created_at=time.time() - 3600,
    )
    with pytest.raises(StateExpired):
        client.complete(stale, {"code": "c", "state": pending.state})


def test_authorization_error_is_reported_with_its_description() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip"))
    with pytest.raises(AuthorizationDenied) as denied:
        client.complete(None, {"error": "access_denied", "error_description": "user said no"})
    assert denied.value.error == "access_denied"
    assert "user said no" in str(denied.value)


def test_token_endpoint_error_is_reported_with_the_server_description() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip"))
    wire.on("POST", TOKEN_URL, (400, {"error": "invalid_grant", "error_description": "code used"}))
    pending = client.begin(ISS, launch="l").pending
    with pytest.raises(TokenExchangeFailed) as failed:
        client.complete(pending, {"code": "c", "state": pending.state})
    assert failed.value.error == "invalid_grant"
    assert failed.value.description == "code used"


def test_unknown_or_missing_iss_is_refused_before_any_request() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip"))
    with pytest.raises(UnknownIssuer):
        client.begin("https://evil.example.com/fhir", launch="l")
    with pytest.raises(UnknownIssuer):
        client.begin(None, launch="l")
    assert wire.sent == []


def test_refresh_keeps_the_old_refresh_token_when_the_server_rotates_none() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip"))
    tokens = TokenSet(access_token="old", expires_at=0, refresh_token="rt-1", scope="")
    wire.on("POST", TOKEN_URL, (200, {"access_token": "new", "expires_in": 60}))
    refreshed = client.refresh(ISS, tokens)
    assert form(wire.sent[-1]) == {
        "grant_type": "refresh_token",
        "refresh_token": "rt-1",
        "client_id": "flip",
    }
    assert (refreshed.access_token, refreshed.refresh_token) == ("new", "rt-1")
    wire.on("POST", TOKEN_URL, (200, {"access_token": "newer", "refresh_token": "rt-2"}))
    assert client.refresh(ISS, refreshed).refresh_token == "rt-2"


def test_id_token_is_validated_against_the_issuers_jwks() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip", scope="launch openid"))
    pending = client.begin(ISS, launch="l").pending
    wire.on("POST", TOKEN_URL, (200, token_response(id_token=id_token(nonce=pending.nonce))))
    assert client.complete(pending, {"code": "c", "state": pending.state}).context.patient == "p1"


def test_openid_launch_whose_token_response_has_no_id_token_is_refused() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip", scope="launch openid"))
    pending = client.begin(ISS, launch="l").pending
    wire.on("POST", TOKEN_URL, (200, token_response()))
    with pytest.raises(IdTokenInvalid, match="no id_token although Flip asked for openid"):
        client.complete(pending, {"code": "c", "state": pending.state})


def test_launch_without_openid_needs_no_id_token() -> None:
    wire = FakeWire()
    scope = "launch patient/Patient.rs"
    client = make_client(wire, Registration(iss=ISS, client_id="flip", scope=scope))
    pending = client.begin(ISS, launch="l").pending
    wire.on("POST", TOKEN_URL, (200, token_response()))
    assert client.complete(pending, {"code": "c", "state": pending.state}).context.patient == "p1"


@pytest.mark.parametrize(
    "claims",
    [{"nonce": "replayed"}, {"aud": "someone-else"}, {"iss": "https://evil"}, {"exp": 1}],
)
def test_id_token_with_a_wrong_claim_is_refused(claims: dict[str, Any]) -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip", scope="launch openid"))
    pending = client.begin(ISS, launch="l").pending
    token = id_token(**{"nonce": pending.nonce, **claims})
    wire.on("POST", TOKEN_URL, (200, token_response(id_token=token)))
    with pytest.raises(IdTokenInvalid):
        client.complete(pending, {"code": "c", "state": pending.state})


def test_discovery_resolves_relative_urls_and_tolerates_extra_fields() -> None:
    url = f"{ISS}/.well-known/smart-configuration"
    configuration = parse_smart_configuration(url, SMART_CONFIGURATION)
    assert configuration.authorization_endpoint == "https://ehr.example.org/auth/authorize"
    assert configuration.capabilities == {"launch-ehr"}


@pytest.mark.parametrize("missing", ["token_endpoint", "code_challenge_methods_supported"])
def test_discovery_without_token_endpoint_or_s256_fails_clearly(missing: str) -> None:
    body = {k: v for k, v in SMART_CONFIGURATION.items() if k != missing}
    with pytest.raises(DiscoveryFailed, match=missing):
        parse_smart_configuration(f"{ISS}/.well-known/smart-configuration", body)


def test_discovery_is_cached_until_its_ttl_passes() -> None:
    wire = FakeWire()
    wire.on("GET", f"{ISS}/.well-known/smart-configuration", (200, SMART_CONFIGURATION))
    now = [0.0]
    cache = DiscoveryCache(wire.session(), ttl_s=60, clock=lambda: now[0])
    cache.get(ISS)
    now[0] = 59
    cache.get(ISS)
    assert len(wire.sent) == 1
    now[0] = 61
    cache.get(ISS)
    assert len(wire.sent) == 2


def test_discovery_that_answers_503_fails_clearly() -> None:
    wire = FakeWire()
    wire.on("GET", f"{ISS}/.well-known/smart-configuration", (503, {}))
    with pytest.raises(DiscoveryFailed, match="503"):
        DiscoveryCache(wire.session()).get(ISS)


def test_registration_json_round_trip(tmp_path: Any) -> None:
    from launch.registrations import RegistrationError, load_registrations

    key = ECKey.generate_key("P-384", parameters={"kid": "k"})
    (tmp_path / "key.json").write_text(json.dumps(key.as_dict(private=True)))
    document = {
        "registrations": [
            {"iss": ISS + "/", "client_id": "a"},
            {
                "iss": "https://other/fhir",
                "client_id": "b",
                "client_type": "asymmetric",
                "private_key_file": "key.json",
            },
        ]
    }
    (tmp_path / "reg.json").write_text(json.dumps(document))
    registrations = load_registrations(tmp_path / "reg.json")
    assert registrations.find(ISS).client_id == "a"
    assert registrations.find("https://other/fhir").private_jwk is not None
    (tmp_path / "bad.json").write_text(json.dumps({"registrations": [{"client_id": "x"}]}))
    with pytest.raises(RegistrationError, match=r"registrations\[0\] needs 'iss'"):
        load_registrations(tmp_path / "bad.json")


def test_fhir_user_comes_from_the_id_token_when_the_response_lacks_it() -> None:
    wire = FakeWire()
    client = make_client(wire, Registration(iss=ISS, client_id="flip", scope="launch openid"))
    pending = client.begin(ISS, launch="l").pending
    response = token_response(
        id_token=id_token(nonce=pending.nonce, fhirUser=f"{ISS}/Practitioner/dr-7")
    )
    del response["fhirUser"]
    wire.on("POST", TOKEN_URL, (200, response))
    done = client.complete(pending, {"code": "c", "state": pending.state})
    assert done.context.fhir_user_reference == "Practitioner/dr-7"
