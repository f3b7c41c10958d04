"""The EHR's signing keys: cached for a while, fetched again after rotation or the TTL."""

from __future__ import annotations

import pytest
from joserfc.jwk import KeySet, RSAKey

from launch.discovery import discovery_url, parse_smart_configuration
from launch.errors import IdTokenInvalid
from launch.id_token import IdTokenValidator
from tests.launch.ehr import ISS, ISSUER_KEY, JWKS_URL, SMART_CONFIGURATION, id_token
from tests.support.wire import FakeWire

CONFIGURATION = parse_smart_configuration(discovery_url(ISS), SMART_CONFIGURATION)
ROTATED_KEY = RSAKey.generate_key(2048, parameters={"kid": "ehr-2"})


def publish(wire: FakeWire, *keys: RSAKey) -> None:
    wire.on("GET", JWKS_URL, (200, KeySet(list(keys)).as_dict(private=False)))


def jwks_fetches(wire: FakeWire) -> int:
    return sum(1 for request in wire.sent if request.url == JWKS_URL)


def validate(validator: IdTokenValidator, token: str) -> dict[str, object]:
    return validator.validate(
        token, configuration=CONFIGURATION, iss=ISS, client_id="flip", nonce=None
    )


def test_id_token_signed_with_a_rotated_key_is_accepted_without_a_restart() -> None:
    wire = FakeWire()
    publish(wire, ISSUER_KEY)
    validator = IdTokenValidator(wire.session())
    assert validate(validator, id_token(sub="before"))["sub"] == "before"
    publish(wire, ROTATED_KEY)  # the EHR rotates: the old key is gone, a new kid signs
    assert validate(validator, id_token(key=ROTATED_KEY, sub="after"))["sub"] == "after"
    assert jwks_fetches(wire) == 2


def test_known_kid_is_served_from_the_cache_while_fresh() -> None:
    wire = FakeWire()
    publish(wire, ISSUER_KEY)
    validator = IdTokenValidator(wire.session())
    for _ in range(3):
        validate(validator, id_token())
    assert jwks_fetches(wire) == 1


def test_key_set_older_than_its_ttl_is_fetched_again() -> None:
    wire = FakeWire()
    publish(wire, ISSUER_KEY, ROTATED_KEY)
    now = [0.0]
    validator = IdTokenValidator(wire.session(), ttl_s=3600, clock=lambda: now[0])
    validate(validator, id_token())
    publish(wire, ROTATED_KEY)  # the EHR withdraws ehr-1
    now[0] = 3599
    validate(validator, id_token())  # still trusted from the cache, within the TTL
    assert jwks_fetches(wire) == 1
    now[0] = 3601
    with pytest.raises(IdTokenInvalid, match="ehr-1"):
        validate(validator, id_token())
    assert jwks_fetches(wire) == 2
