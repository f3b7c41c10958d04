"""Odd JSON from an EHR, read over real HTTP: read as before the fast parser, never lost.

Flip parses chart reads with orjson and seals them with it; what orjson refuses falls back
to Python's parser. NaN and Infinity, which JSON does not have, are read as text, so a
resource holding one is as invalid after its read is kept (sealed, opened) as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.fernet import Fernet

from fhir_mappings.fields import Skips, valid_resource
from launch.gateway import FhirGateway
from launch.http import retrying_session
from smart_app.core.vault import Vault
from tests.launch.test_gateway_retry import StaticToken

OBSERVATION = (
    b'{"resourceType": "Observation", "id": "o1", "status": "final", '
    b'"code": {"text": "FEV1"}, "valueQuantity": {"value": NaN}}'
)
BODIES: dict[str, bytes] = {
    "/fhir/Observation/o1": OBSERVATION,
    "/fhir/Patient/bom": b"\xef\xbb\xbf" + b'{"resourceType": "Patient", "id": "bom"}',
    "/fhir/Patient/utf16": '{"resourceType": "Patient", "id": "utf16"}'.encode("utf-16"),
    "/fhir/Patient/big": b'{"resourceType": "Patient", "id": "big", "n": 36893488147419103232}',
    "/fhir/Patient/lone": b'{"resourceType": "Patient", "id": "lone", "note": "a \\ud800 b"}',
}


class BodyHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = BODIES[self.path]
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is not the place for access logs."""


@pytest.fixture(scope="module")
def gateway() -> Iterator[FhirGateway]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BodyHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/fhir"
        yield FhirGateway(base, StaticToken(), http=retrying_session())
    finally:
        server.shutdown()
        server.server_close()


def kept(value: Any) -> Any:
    """`value` as a kept chart read holds it: sealed, then opened."""
    vault = Vault([Fernet.generate_key().decode()], "signing-key")
    return vault.open(vault.seal(value))


def test_a_resource_holding_nan_stays_invalid_once_its_read_is_kept(
    gateway: FhirGateway,
) -> None:
    fresh = gateway.read("Observation", "o1")
    log = logging.getLogger(__name__)
    assert valid_resource(fresh, "Observation", Skips(), log) is None
    assert valid_resource(kept(fresh), "Observation", Skips(), log) is None


@pytest.mark.parametrize("resource_id", ["bom", "utf16"])
def test_a_body_with_a_byte_order_mark_or_in_utf16_is_read(
    gateway: FhirGateway, resource_id: str
) -> None:
    assert gateway.read("Patient", resource_id)["id"] == resource_id


def test_what_the_fast_parser_refuses_is_read_and_kept_unchanged(gateway: FhirGateway) -> None:
    big = gateway.read("Patient", "big")
    lone = gateway.read("Patient", "lone")
    assert big["n"] == 2**65
    assert lone["note"] == "a \ud800 b"
    assert kept(big) == big
    assert kept(lone) == lone
