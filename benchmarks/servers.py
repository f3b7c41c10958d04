"""The two servers of a benchmark run: the sandbox EHR in its own process, Flip in a thread.

The sandbox runs in a separate (spawned) process so that its work, searching a
10,000-resource chart or sleeping its injected latency, never competes with Flip for
this process's GIL: the time measured inside Flip is Flip's own, as in production where
the EHR is another machine. Both databases are SQLite files in the run's temp folder.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import make_server

from ehr_sandbox.app import create_app as create_sandbox_app
from ehr_sandbox.auth import register_client
from ehr_sandbox.state import EXTENSION_KEY, SandboxState
from launch.registrations import DEFAULT_SCOPE
from smart_app import create_app as create_flip_app
from smart_app.core.migrate import upgrade

HOST = "127.0.0.1"
FLIP_CLIENT_ID = "flip"
# The benchmark's own public client, for the floor and the one-after-another baseline.
DIRECT_CLIENT_ID = "bench-direct"
# Never visited: the direct client reads its code from the authorize 302's Location.
DIRECT_REDIRECT_URI = "http://127.0.0.1:9/callback"
TRANSACTION_SIZE = 500
START_TIMEOUT_S = 60.0


class _Deferred:
    """Lets a server bind (and learn its port) before the app that needs the port exists."""

    app: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


def _quiet_werkzeug() -> None:
    # werkzeug logs every request at INFO to stderr; thousands of lines would bury the table.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def _serve_sandbox(database_url: str, flip_url: str, connection: Connection) -> None:
    """The sandbox process: register both clients, report the URL, serve until terminated."""
    _quiet_werkzeug()
    deferred = _Deferred()
    server = make_server(HOST, 0, deferred, threaded=True)
    # `localhost`, not 127.0.0.1: the EHR and Flip are two origins, as in `make demo`.
    url = f"http://localhost:{server.server_port}"
    app = create_sandbox_app(
        {"public_url": url, "database_url": database_url, "app_launch_url": f"{flip_url}/launch"}
    )
    state: SandboxState = app.extensions[EXTENSION_KEY]
    with app.app_context(), state.db.session() as session:
        register_client(
            session,
            client_id=FLIP_CLIENT_ID,
            client_name="Flip",
            redirect_uris=[f"{flip_url}/callback"],
            client_type="public",
        )
        register_client(
            session,
            client_id=DIRECT_CLIENT_ID,
            client_name="Benchmark direct client",
            redirect_uris=[DIRECT_REDIRECT_URI],
            client_type="public",
        )
    deferred.app = app
    connection.send(url)
    server.serve_forever()


@dataclass(frozen=True, slots=True)
class Deployment:
    """A running sandbox and Flip, and the calls the benchmark makes to set them up."""

    sandbox_url: str
    flip_url: str
    flip: Flask

    @property
    def fhir_base(self) -> str:
        """The protected FHIR base (Flip's iss)."""
        return f"{self.sandbox_url}/fhir"

    @property
    def open_fhir_base(self) -> str:
        """The open FHIR base, for seeding without a token (never delayed)."""
        return f"{self.sandbox_url}/open/fhir"

    def set_latency(self, latency_ms: int) -> None:
        """Delay every FHIR and token request by `latency_ms` from now on.

        The same sleep as the sandbox's `latency_ms` setting (ehr_sandbox/faults.py), armed
        through `/_sandbox/faults` so one running sandbox serves every latency level; the
        open base stays undelayed so seeding is fast.
        """
        faults = f"{self.sandbox_url}/_sandbox/faults"
        requests.delete(faults, timeout=10).raise_for_status()
        if latency_ms:
            for prefix in ("/fhir", "/auth/token"):
                fault = {"latency_ms": latency_ms, "count": None, "path_prefix": prefix}
                requests.post(faults, json=fault, timeout=10).raise_for_status()

    def put(self, resource: dict[str, Any]) -> None:
        """PUT one resource (with its id) through the open FHIR base."""
        url = f"{self.open_fhir_base}/{resource['resourceType']}/{resource['id']}"
        answer = requests.put(url, json=resource, timeout=30)
        if answer.status_code not in (200, 201):
            raise RuntimeError(f"seeding {url} failed: {answer.status_code} {answer.text}")

    def put_all(self, resources: Sequence[dict[str, Any]]) -> None:
        """PUT many resources in transaction Bundles of `TRANSACTION_SIZE` entries."""
        for start in range(0, len(resources), TRANSACTION_SIZE):
            entries = [
                {
                    "resource": r,
                    "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
                }
                for r in resources[start : start + TRANSACTION_SIZE]
            ]
            bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
            answer = requests.post(self.open_fhir_base, json=bundle, timeout=300)
            if answer.status_code != 200:
                raise RuntimeError(f"seeding failed: {answer.status_code} {answer.text[:500]}")

    def create_launch(self, patient: str, encounter: str, practitioner: str) -> dict[str, str]:
        """An EHR launch, as the chart creates it when the clinician clicks Flip."""
        body = {"patient": patient, "encounter": encounter, "practitioner": practitioner}
        answer = requests.post(f"{self.sandbox_url}/_sandbox/launches", json=body, timeout=10)
        if answer.status_code != 201:
            raise RuntimeError(f"launch creation failed: {answer.status_code} {answer.text}")
        created: dict[str, str] = answer.json()
        return created


@contextmanager
def deploy(folder: Path) -> Iterator[Deployment]:
    """Start the sandbox (its own process) and Flip (a thread here), Flip registered."""
    _quiet_werkzeug()
    flip_app_holder = _Deferred()
    flip_server = make_server(HOST, 0, flip_app_holder, threaded=True)
    flip_url = f"http://{HOST}:{flip_server.server_port}"
    spawn = multiprocessing.get_context("spawn")
    ours, theirs = spawn.Pipe()
    sandbox = spawn.Process(
        target=_serve_sandbox,
        args=(f"sqlite:///{folder / 'sandbox.sqlite3'}", flip_url, theirs),
        daemon=True,
    )
    sandbox.start()
    flip_thread = threading.Thread(target=flip_server.serve_forever, daemon=True)
    flip_app: Flask | None = None
    try:
        if not ours.poll(START_TIMEOUT_S):
            raise RuntimeError("the sandbox did not start")
        sandbox_url: str = ours.recv()
        registrations = folder / "registrations.json"
        registration = {
            "iss": f"{sandbox_url}/fhir",
            "client_id": FLIP_CLIENT_ID,
            "client_type": "public",
            "scope": DEFAULT_SCOPE,
        }
        registrations.write_text(json.dumps({"registrations": [registration]}))
        flip_database = f"sqlite:///{folder / 'flip.sqlite3'}"
        upgrade(flip_database)
        flip_app = create_flip_app(
            {
                "env": "testing",
                "database_url": flip_database,
                "public_url": flip_url,
                "registrations_file": str(registrations),
                # Every launch comes from 127.0.0.1, hundreds a minute: the per-address
                # limit of a real deployment would refuse them (tests/app/test_rate_limits.py).
                "launch_rate_limit": "100000 per minute",
            }
        )
        flip_app_holder.app = flip_app
        flip_thread.start()
        yield Deployment(sandbox_url=sandbox_url, flip_url=flip_url, flip=flip_app)
    finally:
        if flip_thread.is_alive():
            flip_server.shutdown()
            flip_thread.join(timeout=5)
        flip_server.server_close()
        if flip_app is not None:
            flip_app.extensions["flip_db"][0].dispose()
        sandbox.terminate()
        sandbox.join(timeout=10)
        ours.close()
        theirs.close()
