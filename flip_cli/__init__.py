"""The `flip` command: serve the app, run the sandbox EHR, run the demo, migrate."""

from __future__ import annotations

import os
import sys
import tempfile

import click
from cryptography.fernet import Fernet

from ehr_sandbox.fhir.profiles import PROFILE_NAMES
from flip_cli.maintenance import keys
from flip_cli.sandbox import sandbox
from smart_app.core.config import ConfigurationError, Settings, load_settings


@click.group()
def main() -> None:
    """Flip: the visit agenda flipped, patient and family first."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True)
@click.option("--workers", default=2, show_default=True)
@click.option("--dev", is_flag=True, help="Werkzeug's threaded dev server instead of gunicorn.")
def serve(host: str, port: int, workers: int, dev: bool) -> None:
    """Serve Flip (gunicorn in production)."""
    _check_settings()
    if dev:
        from werkzeug.serving import run_simple

        from smart_app import create_app

        run_simple(host, port, create_app(), threaded=True)
        return
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    bind = f"{host}:{port}"
    app = "smart_app:create_app()"
    # Each worker keeps its metrics in this fresh directory, and /metrics adds them up
    # (smart_app/core/metrics.py); gunicorn_config.py removes it when the server stops.
    metrics_dir = tempfile.mkdtemp(prefix="flip-metrics-")
    click.echo(f"Metrics of every worker are collected in {metrics_dir}", err=True)
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    argv = [gunicorn, "--config", "python:flip_cli.gunicorn_config", "--bind", bind]
    os.execve(gunicorn, [*argv, "--workers", str(workers), app], env)  # noqa: S606


@main.group()
def db() -> None:
    """Flip's database."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply Alembic migrations to FLIP_DATABASE_URL."""
    from smart_app.core.migrate import upgrade

    settings = _check_settings()
    upgrade(settings.database_url, revision)
    click.echo(f"Database at revision {revision}.")


@main.command()
def keygen() -> None:
    """Print a new key for FLIP_TOKEN_ENCRYPTION_KEY (put first, then `flip keys rotate`)."""
    click.echo(Fernet.generate_key().decode())


@main.command()
@click.option("--sandbox-port", default=9090, show_default=True)
@click.option("--app-port", default=8080, show_default=True)
@click.option(
    "--sandbox-profile",
    type=click.Choice(PROFILE_NAMES),
    default="open",
    show_default=True,
    help="The sandbox's write rules on /fhir (as an EHR's FHIR API would keep them).",
)
def demo(sandbox_port: int, app_port: int, sandbox_profile: str) -> None:
    """Start the sandbox EHR and Flip, seed demo patients, print the URL to open."""
    from flip_cli.demo import run_demo

    run_demo(sandbox_port=sandbox_port, app_port=app_port, sandbox_profile=sandbox_profile)


@main.command()
@click.option("--patient", required=True, help="The patient's FHIR id.")
def audit(patient: str) -> None:
    """Print who read or wrote this patient's data through Flip, and when."""
    from smart_app import create_app
    from smart_app.core.audit import events_for
    from smart_app.core.db import db

    _check_settings()
    # One read and out: no background worker, no pages to warm up.
    with create_app({"outbox_worker": False, "warm_up": False}).app_context():
        events = events_for(patient)
        db.engine.dispose()  # close pooled connections before the process ends
    if not events:
        click.echo(f"No audit events for patient {patient}.")
    for event in events:
        click.echo(
            f"{event.recorded_at.isoformat()}  {event.user}  {event.action}  {event.outcome}  "
            f"{event.resource_ids}"
        )


@main.group()
def outbox() -> None:
    """The write-back outbox: plans and pre-visit answers on their way to the chart."""


@outbox.command("run")
@click.option("--once", is_flag=True, help="Attempt the due rows once, then exit.")
def outbox_run(once: bool) -> None:
    """Write due plans and answers to the chart, retrying with backoff, until stopped."""
    from smart_app import create_app
    from smart_app.closing.worker import OutboxWorker
    from smart_app.core.db import db
    from smart_app.services import services

    settings = _check_settings()
    # This process is the worker: the app must not start a second one in the background.
    app = create_app({"outbox_worker": False})
    with app.app_context():
        found = services()
    worker = OutboxWorker(
        app,
        found.outbox,
        poll_s=settings.outbox_poll_s,
        also=(found.previsit_outbox.process_due,),
    )
    try:
        worker.run(once=once)
    except KeyboardInterrupt:
        click.echo("Stopped.")
    finally:
        with app.app_context():
            db.engine.dispose()  # close pooled connections before the process ends


main.add_command(sandbox)
main.add_command(keys)


def _check_settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
