"""A sandbox EHR and Flip side by side over real HTTP, on two origins, as in `make demo`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from joserfc.jwk import ECKey, KeySet, RSAKey

from benchmarks.browser import Browser as ScriptedBrowser
from benchmarks.browser import ChromiumLikeSession
from ehr_sandbox.app import create_app as create_sandbox_app
from ehr_sandbox.auth import register_client
from launch.registrations import DEFAULT_SCOPE
from smart_app import OUTBOX_WORKER_KEY
from smart_app import create_app as create_flip_app
from smart_app.core.migrate import upgrade
from tests.conftest import LiveSandbox, sandbox_state
from tests.support.live_server import LiveServer

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
ROLE_CODE = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
CLIENT_ID = "flip"
CLIENT_SECRET = "flip-test-secret"
SCOPE = DEFAULT_SCOPE


@dataclass
class Deployment:
    """The two servers, and how Flip is registered with the sandbox."""

    sandbox: LiveSandbox
    flip: Flask
    flip_url: str
    registrations_file: Path

    def seed(self, resource_type: str, resource_id: str, **content: Any) -> None:
        """PUT a resource into the sandbox through its open FHIR base."""
        self.put({"resourceType": resource_type, "id": resource_id, **content})

    def put(self, resource: dict[str, Any]) -> None:
        """PUT a whole resource (with its id) into the sandbox."""
        url = f"{self.sandbox.open_fhir_base}/{resource['resourceType']}/{resource['id']}"
        answer = requests.put(url, json=resource, timeout=10)
        assert answer.status_code in (200, 201), answer.text

    def ehr_launch_url(
        self, patient: str, encounter: str | None = None, *, need_patient_banner: bool = False
    ) -> str:
        """The URL the chart's frame opens for an EHR launch (no login page)."""
        body = {
            "patient": patient,
            "encounter": encounter,
            "practitioner": "dr1",
            "need_patient_banner": need_patient_banner,
        }
        answer = requests.post(f"{self.sandbox.url}/_sandbox/launches", json=body, timeout=10)
        assert answer.status_code == 201, answer.text
        url: str = answer.json()["launch_url"]
        return url

    def fault(self, **fault: Any) -> None:
        """Arm a sandbox fault (see ehr_sandbox/faults.py)."""
        armed = requests.post(f"{self.sandbox.url}/_sandbox/faults", json=fault, timeout=10)
        assert armed.status_code == 201


def client_keys(client_type: str) -> tuple[dict[str, Any] | None, str]:
    """A private JWK for an asymmetric client type (`asymmetric-RS384`...) and its alg."""
    if client_type == "asymmetric-RS384":
        return RSAKey.generate_key(2048, parameters={"kid": "flip-rs"}).as_dict(
            private=True
        ), "RS384"
    if client_type == "asymmetric-ES384":
        return ECKey.generate_key("P-384", parameters={"kid": "flip-es"}).as_dict(
            private=True
        ), "ES384"
    return None, "ES384"


@contextmanager
def deploy(
    database_url: str,
    folder: Path,
    *,
    client_type: str = "public",
    scope: str = SCOPE,
    **sandbox_settings: Any,
) -> Iterator[Deployment]:
    """Start both servers with Flip registered as `client_type`, and seed two patients."""
    sandbox_server, flip_server = LiveServer(), LiveServer()
    sandbox_url = f"http://localhost:{sandbox_server.port}"
    flip_url = f"http://127.0.0.1:{flip_server.port}"
    sandbox_app = create_sandbox_app(
        {
            "public_url": sandbox_url,
            "database_url": database_url,
            "app_launch_url": f"{flip_url}/launch",
            **sandbox_settings,
        }
    )
    private_jwk, alg = client_keys(client_type)
    kind = client_type.split("-")[0]
    with sandbox_app.app_context(), sandbox_state(sandbox_app).db.session() as session:
        register_client(
            session,
            client_id=CLIENT_ID,
            client_name="Flip",
            redirect_uris=[f"{flip_url}/callback"],
            client_type=kind,
            client_secret=CLIENT_SECRET if kind == "symmetric" else None,
            jwks=KeySet.import_key_set({"keys": [private_jwk]}).as_dict(private=False)
            if private_jwk
            else None,
        )
    registration: dict[str, Any] = {
        "iss": f"{sandbox_url}/fhir",
        "client_id": CLIENT_ID,
        "client_type": kind,
        "scope": scope,
        "chart_url": f"{sandbox_url}/chart/{{patient}}",
    }
    if kind == "symmetric":
        registration["client_secret"] = CLIENT_SECRET
    if private_jwk:
        (folder / "flip-key.json").write_text(json.dumps(private_jwk))
        registration.update(private_key_file="flip-key.json", signing_alg=alg)
    registrations_file = folder / "registrations.json"
    cds_client = {
        "iss": sandbox_url,
        "jwks_url": f"{sandbox_url}/cds-client/jwks.json",
        "fhir_servers": [f"{sandbox_url}/fhir"],
    }
    registrations_file.write_text(
        json.dumps({"registrations": [registration], "cds_clients": [cds_client]})
    )
    upgrade(database_url)
    flip_app = create_flip_app(
        {
            "env": "testing",
            "database_url": database_url,
            "public_url": flip_url,
            "registrations_file": str(registrations_file),
            # The write-back worker runs as in production, polling fast for tests.
            "outbox_worker": True,
            "outbox_poll_s": 0.1,
            "outbox_backoff_base_s": 0.1,
            "outbox_backoff_cap_s": 1.0,
            # Every launch comes from 127.0.0.1, hundreds a minute: the per-address
            # limit of a real deployment would refuse them (tests/app/test_rate_limits.py).
            "launch_rate_limit": "100000 per minute",
        }
    )
    sandbox_server.start(sandbox_app)
    flip_server.start(flip_app)
    deployment = Deployment(
        LiveSandbox(app=sandbox_app, url=sandbox_url), flip_app, flip_url, registrations_file
    )
    deployment.seed("Practitioner", "dr1", name=[{"family": "Osler", "given": ["Grace"]}])
    for patient, given, family in (("p1", "Maya", "Jones"), ("p2", "Ben", "Okafor")):
        deployment.seed("Patient", patient, name=[{"given": [given], "family": family}])
        deployment.seed(
            "Encounter",
            f"e-{patient}",
            status="in-progress",
            subject={"reference": f"Patient/{patient}"},
            reasonCode=[{"text": "CF clinic follow-up"}],
            **{
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                }
            },
        )
    try:
        yield deployment
    finally:
        flip_app.extensions[OUTBOX_WORKER_KEY].stop()
        flip_server.stop()
        sandbox_server.stop()
        flip_app.extensions["flip_db"][0].dispose()
        sandbox_state(sandbox_app).db.dispose()


@dataclass
class Browser(ScriptedBrowser):
    """A browser tab whose cookies never come back (requests sends no `Secure` cookie
    over http): the "third-party cookies blocked" case, binding each launch via its tab
    storage. It keeps every response it saw, for checks on what reached the browser."""

    http: requests.Session = field(default_factory=requests.Session)
    seen: list[requests.Response] = field(default_factory=list)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        """GET, remembered."""
        response = super().get(url, **kwargs)
        self.seen.append(response)
        return response

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        """POST a form, remembered."""
        response = super().post(url, data)
        self.seen.append(response)
        return response


@dataclass
class CookieBrowser(Browser):
    """A browser tab whose partitioned cookie comes back, as Chromium's does on loopback:
    the cookie, not the tab storage, binds each launch."""

    http: requests.Session = field(default_factory=ChromiumLikeSession)
