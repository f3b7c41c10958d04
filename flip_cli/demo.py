"""`flip demo`: the sandbox EHR and Flip side by side, seeded, on two origins.

The sandbox answers at http://localhost:9090 and Flip at http://127.0.0.1:8080: two
origins on purpose, so Flip runs cross-site in the chart's frame as in a real EHR.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import click
import requests

from ehr_sandbox.demo import build_demo_bundle
from fhir_mappings.questionnaire import build_code_systems, build_questionnaire
from smart_app.core.config import Settings

INSTANCE = Path("instance")
DEMO_CLIENT_ID = "flip-demo"
START_TIMEOUT_S = 30


def demo_clients(app_url: str) -> dict[str, object]:
    """The sandbox's client registrations for the demo: Flip itself."""
    return {
        "clients": [
            {
                "client_id": DEMO_CLIENT_ID,
                "client_name": "Flip (demo)",
                "client_type": "public",
                "redirect_uris": [f"{app_url}/callback"],
            }
        ]
    }


def flip_registrations(sandbox_url: str) -> dict[str, object]:
    """Flip's registration with the sandbox, as an integration engineer would write it."""
    return {
        "registrations": [
            {
                "iss": f"{sandbox_url}/fhir",
                "client_id": DEMO_CLIENT_ID,
                "client_type": "public",
                # The clinic-day panel's rows open the sandbox's chart, which launches Flip.
                "chart_url": f"{sandbox_url}/chart/{{patient}}",
            }
        ],
        # The sandbox calls Flip's CDS Hooks service when a chart opens (README.md).
        "cds_clients": [
            {
                "iss": sandbox_url,
                "jwks_url": f"{sandbox_url}/cds-client/jwks.json",
                "fhir_servers": [f"{sandbox_url}/fhir"],
            }
        ],
    }


def run_demo(*, sandbox_port: int, app_port: int, sandbox_profile: str = "open") -> None:
    """Start both servers, seed the sandbox, print the URL, wait for Ctrl-C."""
    sandbox_url = f"http://localhost:{sandbox_port}"
    app_url = f"http://127.0.0.1:{app_port}"
    INSTANCE.mkdir(exist_ok=True)
    clients_file = INSTANCE / "sandbox-clients.json"
    clients_file.write_text(json.dumps(demo_clients(app_url), indent=2))
    registrations_file = INSTANCE / "flip-registrations.json"
    registrations_file.write_text(json.dumps(flip_registrations(sandbox_url), indent=2))

    flip = [sys.executable, "-m", "flip_cli"]
    env = {
        **os.environ,
        "FLIP_ENV": os.environ.get("FLIP_ENV", "development"),
        "FLIP_PUBLIC_URL": app_url,
        "FLIP_REGISTRATIONS_FILE": str(registrations_file.resolve()),
        # The sandbox's CDS hook token is issued to Flip's demo client.
        "FLIP_SANDBOX_CDS_APP_CLIENT_ID": DEMO_CLIENT_ID,
    }
    subprocess.run([*flip, "db", "upgrade"], check=True, env=env)  # noqa: S603
    processes = [
        subprocess.Popen(  # noqa: S603
            [
                *flip,
                "sandbox",
                "serve",
                "--port",
                str(sandbox_port),
                "--public-url",
                sandbox_url,
                "--clients-file",
                str(clients_file),
                "--app-launch-url",
                f"{app_url}/launch",
                # The write rules of /fhir; seeding below goes through /open/fhir, which
                # accepts every write whatever the profile.
                "--profile",
                sandbox_profile,
            ],
            env=env,
        ),
        subprocess.Popen([*flip, "serve", "--dev", "--port", str(app_port)], env=env),  # noqa: S603
    ]
    try:
        _wait_for(f"{sandbox_url}/open/fhir/metadata")
        _wait_for(f"{app_url}/healthz")
        _seed(f"{sandbox_url}/open/fhir")
        click.echo(
            f"\nFlip demo is running.\n"
            f"  Open the sandbox EHR:  {sandbox_url}/\n"
            f"  (pick a patient with an appointment today; Flip opens in the chart's sidebar)\n"
            f"  Flip itself:           {app_url}/healthz\n"
            f"  FHIR base:             {sandbox_url}/fhir  (open, loopback: /open/fhir)\n"
            f"  Write rules of /fhir:  {sandbox_profile}\n"
            f"Press Ctrl-C to stop.\n"
        )
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        raise click.ClickException("A server stopped; see its output above.")
    except KeyboardInterrupt:
        click.echo("Stopping.")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


def _wait_for(url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise click.ClickException(f"{url} did not answer within {START_TIMEOUT_S} s.")


def publication_bundle(canonical_base: str) -> dict[str, object]:
    """Flip's Questionnaire and CodeSystems as a transaction of PUTs (idempotent)."""
    resources = [build_questionnaire(canonical_base), *build_code_systems(canonical_base)]
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": resource,
                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
            }
            for resource in resources
        ],
    }


def _seed(open_fhir_base: str) -> None:
    _post_bundle(
        open_fhir_base, publication_bundle(Settings().canonical_base), "Flip's Questionnaire"
    )
    bundle = build_demo_bundle(date.today())
    _post_bundle(open_fhir_base, bundle, "the demo data")
    click.echo(f"Installed Flip's Questionnaire; seeded {len(bundle['entry'])} demo resources.")


def _post_bundle(open_fhir_base: str, bundle: dict[str, object], what: str) -> None:
    response = requests.post(
        open_fhir_base,
        json=bundle,
        headers={"Content-Type": "application/fhir+json"},
        timeout=60,
    )
    if not response.ok:
        raise click.ClickException(f"Loading {what} failed: {response.text[:500]}")
