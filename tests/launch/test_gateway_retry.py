"""Reads retried over real HTTP: a server's Retry-After is honoured, but only up to a cap."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from launch.gateway import DEFAULT_TIMEOUT_S, FhirGateway, SearchRequest
from launch.http import RETRY_AFTER_MAX_S, read_session, retrying_session

CAP_S = 1
MARGIN_S = 3.0


class StaticToken:
    """Always the same bearer token: these tests are about retries, not refresh."""

    def access_token(self) -> str:
        return "at-1"

    def refresh_after_rejection(self, rejected: str) -> str:
        return rejected


class BusyOnceHandler(BaseHTTPRequestHandler):
    """Answers 503 with `Retry-After: 3600` to the first GET, the Patient after that."""

    calls = 0

    def do_GET(self) -> None:
        type(self).calls += 1
        if type(self).calls == 1:
            self._answer(503, b'{"resourceType": "OperationOutcome"}', {"Retry-After": "3600"})
        else:
            self._answer(200, b'{"resourceType": "Patient", "id": "p1"}', {})

    def do_POST(self) -> None:
        """A batch of reads: busy once too, then one search answered."""
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).calls == 1:
            self._answer(503, b'{"resourceType": "OperationOutcome"}', {"Retry-After": "1"})
            return
        entry = b'{"response": {"status": "200 OK"}, "resource": {"resourceType": "Bundle", '
        entry += b'"type": "searchset", "entry": [{"resource": {"resourceType": "Patient", '
        entry += b'"id": "p1"}}]}}'
        empty = b'{"response": {"status": "200 OK"}, "resource": {"resourceType": "Bundle"}}'
        self._answer(200, b'{"resourceType": "Bundle", "type": "batch-response", "entry": ['
                     + entry + b", " + empty + b"]}", {})  # fmt: skip

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "application/fhir+json", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test output is not the place for access logs."""


@pytest.fixture
def busy_once_base() -> Iterator[str]:
    BusyOnceHandler.calls = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), BusyOnceHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/fhir"
    finally:
        server.shutdown()
        server.server_close()


def test_retry_after_of_an_hour_waits_only_up_to_the_cap(busy_once_base: str) -> None:
    gateway = FhirGateway(
        busy_once_base, StaticToken(), http=retrying_session(retry_after_max_s=CAP_S)
    )
    result: dict[str, Any] = {}

    def read() -> None:
        started = time.monotonic()
        result["patient"] = gateway.read("Patient", "p1")
        result["waited"] = time.monotonic() - started

    # A daemon thread, so that an uncapped wait fails this test instead of hanging the run.
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=CAP_S + MARGIN_S)
    assert not reader.is_alive(), "the read still waits on Retry-After: 3600"
    assert result["patient"]["id"] == "p1"
    assert BusyOnceHandler.calls == 2
    assert CAP_S * 0.9 <= result["waited"] < CAP_S + MARGIN_S


def test_a_batch_of_reads_is_retried_as_gets_are(busy_once_base: str) -> None:
    gateway = FhirGateway(
        busy_once_base,
        StaticToken(),
        http=retrying_session(),
        read_http=read_session(retry_after_max_s=CAP_S),
    )
    searches = [SearchRequest("Patient", {"_id": "p1"}), SearchRequest("Patient", {"_id": "p2"})]
    [patients, _] = gateway.batch_search(searches, use_batch=True)
    assert [p["id"] for p in patients] == ["p1"]
    assert BusyOnceHandler.calls == 2  # the 503 was retried, not shown to the clinician


def test_default_retry_after_cap_is_below_the_request_timeout() -> None:
    assert 0 < RETRY_AFTER_MAX_S < DEFAULT_TIMEOUT_S
