"""`flip sandbox ...`: run the sandbox EHR, register clients, print launch URLs."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import click
import requests

from ehr_sandbox.fhir.profiles import PROFILE_NAMES

DEFAULT_SANDBOX_URL = "http://localhost:9090"


@click.group()
def sandbox() -> None:
    """The local sandbox EHR (FHIR R4 server, SMART authorization server, chart pages)."""


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9090, show_default=True)
@click.option("--public-url", default=None, help="Default: http://localhost:PORT")
@click.option("--database-url", default=None, help="Default: instance/sandbox.sqlite3")
@click.option("--clients-file", default=None, type=click.Path(exists=True, dir_okay=False))
@click.option("--latency-ms", default=0, show_default=True, help="Delay per FHIR/token request.")
@click.option("--token-lifetime", default=3600, show_default=True, help="Access token seconds.")
@click.option("--app-launch-url", default=None, help="The app the chart page launches.")
@click.option(
    "--profile",
    type=click.Choice(PROFILE_NAMES),
    default=None,
    help="Write rules of /fhir (default: open, or FLIP_SANDBOX_PROFILE).",
)
def serve(
    host: str,
    port: int,
    public_url: str | None,
    database_url: str | None,
    clients_file: str | None,
    latency_ms: int,
    token_lifetime: int,
    app_launch_url: str | None,
    profile: str | None,
) -> None:
    """Serve the sandbox EHR."""
    from werkzeug.serving import run_simple

    from ehr_sandbox.app import create_app

    overrides: dict[str, object] = {
        "public_url": public_url or f"http://localhost:{port}",
        "latency_ms": latency_ms,
        "access_token_lifetime_s": token_lifetime,
    }
    for key, value in (
        ("database_url", database_url),
        ("clients_file", clients_file),
        ("app_launch_url", app_launch_url),
        ("profile", profile),
    ):
        if value is not None:
            overrides[key] = value
    run_simple(host, port, create_app(overrides), threaded=True)


@sandbox.command("register-client")
@click.option("--client-id", required=True)
@click.option("--client-name", default=None, help="Shown on the consent page.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True)
@click.option(
    "--client-type", type=click.Choice(["public", "symmetric", "asymmetric"]), default="public"
)
@click.option("--client-secret", default=None, help="For symmetric clients.")
@click.option("--jwks-url", default=None, help="For asymmetric clients.")
@click.option("--jwks-file", default=None, type=click.Path(exists=True, dir_okay=False))
@click.option("--database-url", default=None, help="Default: instance/sandbox.sqlite3")
def register_client(
    client_id: str,
    client_name: str | None,
    redirect_uris: tuple[str, ...],
    client_type: str,
    client_secret: str | None,
    jwks_url: str | None,
    jwks_file: str | None,
    database_url: str | None,
) -> None:
    """Register (or replace) an app with the sandbox's authorization server."""
    from ehr_sandbox.auth import register_client as register
    from ehr_sandbox.auth.clients import ClientRegistrationError
    from ehr_sandbox.config import load_settings
    from ehr_sandbox.db import Database

    settings = load_settings({"database_url": database_url} if database_url else None)
    database = Database(settings.database_url)
    database.create_all()
    jwks = json.loads(Path(jwks_file).read_text()) if jwks_file else None
    try:
        with database.session() as session:
            register(
                session,
                client_id=client_id,
                client_name=client_name or client_id,
                redirect_uris=list(redirect_uris),
                client_type=client_type,
                client_secret=client_secret,
                jwks=jwks,
                jwks_url=jwks_url,
            )
    except ClientRegistrationError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        database.dispose()
    click.echo(f"Registered {client_type} client {client_id}.")


@sandbox.command("launch-url")
@click.option("--patient", default=None, help="Patient id; without it, a launch from the schedule.")
@click.option("--encounter", default=None, help="Encounter id (optional).")
@click.option("--practitioner", default=None, help="Signed-in practitioner id (optional).")
@click.option("--need-patient-banner/--no-patient-banner", default=False, show_default=True)
@click.option("--sandbox-url", default=DEFAULT_SANDBOX_URL, show_default=True)
def launch_url(
    patient: str | None,
    encounter: str | None,
    practitioner: str | None,
    need_patient_banner: bool,
    sandbox_url: str,
) -> None:
    """Print an EHR launch URL for the app that completes without a login page.

    Without --patient, the practitioner's launch from the clinic schedule: Flip opens the
    clinic-day panel.
    """
    if patient is None and practitioner is None:
        raise click.UsageError("give --patient, or --practitioner for the clinic-day panel")
    body = {
        "patient": patient,
        "encounter": encounter,
        "practitioner": practitioner,
        "need_patient_banner": need_patient_banner,
    }
    click.echo(_create(sandbox_url, "/_sandbox/launches", body)["launch_url"])


@sandbox.command("portal-url")
@click.option("--user", required=True, help="Patient/ID or RelatedPerson/ID (a parent).")
@click.option("--sandbox-url", default=DEFAULT_SANDBOX_URL, show_default=True)
@click.option("--app-launch-url", default=None, help="Default: the app the sandbox launches.")
@click.option("--ask-consent", is_flag=True, help="Show the consent page instead of pre-approving.")
def portal_url(user: str, sandbox_url: str, app_launch_url: str | None, ask_consent: bool) -> None:
    """Print a standalone launch URL that signs in as a patient or parent without a login page."""
    click.echo(
        request_portal_url(
            user, sandbox_url=sandbox_url, app_launch_url=app_launch_url, ask_consent=ask_consent
        )
    )


def request_portal_url(
    user: str,
    *,
    sandbox_url: str = DEFAULT_SANDBOX_URL,
    app_launch_url: str | None = None,
    ask_consent: bool = False,
) -> str:
    """Ask the sandbox for a one-time portal sign-in link that then opens the app standalone."""
    body = {"user": user, "app_launch_url": app_launch_url, "pre_approved": not ask_consent}
    url: str = _create(sandbox_url, "/_sandbox/portal-sign-ins", body)["url"]
    return url


def _create(sandbox_url: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST to one of the sandbox's loopback tools; its 201 answer, or a clear CLI error."""
    try:
        response = requests.post(f"{sandbox_url}{path}", json=body, timeout=10)
    except requests.ConnectionError as exc:
        raise click.ClickException(
            f"The sandbox at {sandbox_url} is not answering; start it with `make demo`."
        ) from exc
    if response.status_code != 201:
        raise click.ClickException(f"The sandbox refused: {_error_text(response)}")
    answer: dict[str, Any] = response.json()
    return answer


@sandbox.command("demo-bundle")
@click.option("--date", "day", default=None, help="The demo's 'today' (YYYY-MM-DD).")
def demo_bundle(day: str | None) -> None:
    """Print the demo data as a FHIR transaction Bundle (loads into any FHIR server)."""
    from ehr_sandbox.demo import build_demo_bundle

    today = date.fromisoformat(day) if day else date.today()
    click.echo(json.dumps(build_demo_bundle(today), indent=2))


def _error_text(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    return str(body.get("error") or body)
