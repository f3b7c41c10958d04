"""The two servers of a benchmark run: the sandbox EHR in its own process, Flip in a thread.

The sandbox runs in a separate (spawned) process so that its work, searching a
10,000-resource chart or sleeping its injected latency, never competes with Flip for
this process's GIL: the time measured inside Flip is Flip's own, as in production where
the EHR is another machine. Both databases are SQLite files in the run's temp folder.

The browser floor (benchmarks/floor_app.py) needs the chart to frame it instead of Flip:
a second sandbox process serves the same SQLite file (WAL, so both read and write it)
with the floor as its `app_launch_url`. Its clinic day and chart are the same pages over
the same data, and its chart calls Flip's CDS service as the first one's does, so the
only difference between a click on either is the app in the frame. Faults and latency
are per process (ehr_sandbox/faults.py): `set_latency` arms both.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from benchmarks import chart
from benchmarks.floor_app import FloorClient, create_floor_app
from ehr_sandbox.app import create_app as create_sandbox_app
from ehr_sandbox.auth import register_client
from ehr_sandbox.state import EXTENSION_KEY, SandboxState
from launch.registrations import DEFAULT_SCOPE
from smart_app import OUTBOX_WORKER_KEY
from smart_app import create_app as create_flip_app
from smart_app.core.migrate import upgrade

HOST = "127.0.0.1"
FLIP_CLIENT_ID = "flip"
# The benchmark's own public client, for the floor and the one-after-another baseline.
DIRECT_CLIENT_ID = "bench-direct"
# Never visited: the direct client reads its code from the authorize 302's Location.
DIRECT_REDIRECT_URI = "http://127.0.0.1:9/callback"
# The browser floor's public client, registered with the redirect to its own /callback.
FLOOR_CLIENT_ID = "bench-floor"
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


@dataclass(frozen=True, slots=True)
class _Client:
    """A public client the sandbox process registers before it serves."""

    client_id: str
    client_name: str
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class _SandboxPlan:
    """What one sandbox process serves: its database, the app its chart frames, clients."""

    database_url: str
    app_launch_url: str
    cds_services_url: str
    clients: tuple[_Client, ...]
    # Who is signed in to the EHR when its chart launches the app: the chart's clinician.
    default_practitioner: str = chart.PRACTITIONER


def _serve_sandbox(plan: _SandboxPlan, connection: Connection) -> None:
    """The sandbox process: register the clients, report the URL, serve until terminated."""
    _quiet_werkzeug()
    deferred = _Deferred()
    server = make_server(HOST, 0, deferred, threaded=True)
    # `localhost`, not 127.0.0.1: the EHR and Flip are two origins, as in `make demo`.
    url = f"http://localhost:{server.server_port}"
    app = create_sandbox_app(
        {
            "public_url": url,
            "database_url": plan.database_url,
            "app_launch_url": plan.app_launch_url,
            "cds_services_url": plan.cds_services_url,
            "default_practitioner": plan.default_practitioner,
        }
    )
    state: SandboxState = app.extensions[EXTENSION_KEY]
    with app.app_context(), state.db.session() as session:
        for client in plan.clients:
            register_client(
                session,
                client_id=client.client_id,
                client_name=client.client_name,
                redirect_uris=[client.redirect_uri],
                client_type="public",
            )
    deferred.app = app
    connection.send(url)
    server.serve_forever()


class _SandboxProcess:
    """One spawned sandbox process and the pipe it reports its URL on."""

    def __init__(self, plan: _SandboxPlan) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._ours, self._theirs = spawn.Pipe()
        self._process = spawn.Process(target=_serve_sandbox, args=(plan, self._theirs), daemon=True)
        self._process.start()

    def url(self) -> str:
        """The sandbox's URL, once it serves."""
        if not self._ours.poll(START_TIMEOUT_S):
            raise RuntimeError("the sandbox did not start")
        url: str = self._ours.recv()
        return url

    def stop(self) -> None:
        """Terminate the process and close the pipe."""
        self._process.terminate()
        self._process.join(timeout=10)
        self._ours.close()
        self._theirs.close()


@dataclass(frozen=True, slots=True)
class Deployment:
    """A running sandbox and Flip, and the calls the benchmark makes to set them up."""

    sandbox_url: str
    flip_url: str
    flip: Flask
    # The second sandbox, whose chart frames the browser floor, and the floor's own URL.
    floor_sandbox_url: str
    floor_url: str
    _floor: _Deferred = field(repr=False)

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
        for sandbox_url in (self.sandbox_url, self.floor_sandbox_url):
            faults = f"{sandbox_url}/_sandbox/faults"
            requests.delete(faults, timeout=10).raise_for_status()
            if latency_ms:
                for prefix in ("/fhir", "/auth/token"):
                    fault = {"latency_ms": latency_ms, "count": None, "path_prefix": prefix}
                    requests.post(faults, json=fault, timeout=10).raise_for_status()

    @property
    def floor_fhir_base(self) -> str:
        """The protected FHIR base of the floor's sandbox (the floor's iss)."""
        return f"{self.floor_sandbox_url}/fhir"

    def serve_floor(self, searches: Sequence[str]) -> None:
        """Start answering at `floor_url` with the floor fetching `searches`; once.

        Not done by `deploy`: the searches are Flip's own (measure.visit_search_urls),
        built from this deployment, and measure.py imports this module.
        """
        if self._floor.app is not None:
            return
        client = FloorClient(
            iss=self.floor_fhir_base,
            client_id=FLOOR_CLIENT_ID,
            redirect_uri=f"{self.floor_url}/callback",
            scope=DEFAULT_SCOPE,
            searches=tuple(searches),
        )
        self._floor.app = create_floor_app(client)

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


def _bind(app: _Deferred) -> tuple[BaseWSGIServer, threading.Thread, str]:
    """A server bound on loopback (so its URL is known), the thread to serve it, the URL."""
    server = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    return server, thread, f"http://{HOST}:{server.server_port}"


def prepare_flip(folder: Path, sandbox_url: str) -> tuple[Path, str]:
    """Register Flip with the sandbox in a registrations file, and migrate its database.

    Returns the file and the database URL, both in `folder`.
    """
    registrations = folder / "registrations.json"
    registration = {
        "iss": f"{sandbox_url}/fhir",
        "client_id": FLIP_CLIENT_ID,
        "client_type": "public",
        "scope": DEFAULT_SCOPE,
    }
    registrations.write_text(json.dumps({"registrations": [registration]}))
    database_url = f"sqlite:///{folder / 'flip.sqlite3'}"
    upgrade(database_url)
    return registrations, database_url


@contextmanager
def deploy(folder: Path, *, flip_config: Mapping[str, Any] | None = None) -> Iterator[Deployment]:
    """Start the sandbox (its own process) and Flip (a thread here), Flip registered.

    Also the floor's sandbox (another process, same database) and the floor's server (a
    thread here, answering once `Deployment.serve_floor` gave it its searches).
    `flip_config` adds to (or overrides) Flip's settings: the write-back measure turns on
    the outbox worker thread, off by default here as in every `testing` app.
    """
    _quiet_werkzeug()
    flip_app_holder, floor_app_holder = _Deferred(), _Deferred()
    flip_server, flip_thread, flip_url = _bind(flip_app_holder)
    floor_server, floor_thread, floor_url = _bind(floor_app_holder)
    database_url = f"sqlite:///{folder / 'sandbox.sqlite3'}"
    sandbox = _SandboxProcess(
        _SandboxPlan(
            database_url=database_url,
            app_launch_url=f"{flip_url}/launch",
            cds_services_url=f"{flip_url}/cds-services",
            clients=(
                _Client(FLIP_CLIENT_ID, "Flip", f"{flip_url}/callback"),
                _Client(DIRECT_CLIENT_ID, "Benchmark direct client", DIRECT_REDIRECT_URI),
            ),
        )
    )
    floor_sandbox: _SandboxProcess | None = None
    flip_app: Flask | None = None
    try:
        sandbox_url = sandbox.url()
        # Started once the first has created the tables: two create_all at once would race.
        floor_sandbox = _SandboxProcess(
            _SandboxPlan(
                database_url=database_url,
                app_launch_url=f"{floor_url}/launch",
                cds_services_url=f"{flip_url}/cds-services",
                clients=(
                    _Client(FLOOR_CLIENT_ID, "Benchmark browser floor", f"{floor_url}/callback"),
                ),
            )
        )
        registrations, flip_database = prepare_flip(folder, sandbox_url)
        flip_app = create_flip_app(
            {
                "env": "testing",
                "database_url": flip_database,
                "public_url": flip_url,
                "registrations_file": str(registrations),
                # Every launch comes from 127.0.0.1, hundreds a minute: the per-address
                # limit of a real deployment would refuse them (tests/app/test_rate_limits.py).
                "launch_rate_limit": "100000 per minute",
                # As `flip serve` starts it (a test app skips it): the first launch after
                # the start is measured too (benchmarks/__main__.py).
                "warm_up": True,
                **(flip_config or {}),
            }
        )
        flip_app_holder.app = flip_app
        flip_thread.start()
        floor_thread.start()
        yield Deployment(
            sandbox_url=sandbox_url,
            flip_url=flip_url,
            flip=flip_app,
            floor_sandbox_url=floor_sandbox.url(),
            floor_url=floor_url,
            _floor=floor_app_holder,
        )
    finally:
        for server, thread in ((flip_server, flip_thread), (floor_server, floor_thread)):
            if thread.is_alive():
                server.shutdown()
                thread.join(timeout=5)
            server.server_close()
        if flip_app is not None:
            worker = flip_app.extensions.get(OUTBOX_WORKER_KEY)
            if worker is not None:
                worker.stop()
            flip_app.extensions["flip_db"][0].dispose()
        for process in (sandbox, floor_sandbox):
            if process is not None:
                process.stop()
