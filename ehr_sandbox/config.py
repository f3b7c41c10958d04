"""Sandbox settings: defaults, then FLIP_SANDBOX_ environment variables, then a mapping."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_PUBLIC_URL = "http://localhost:9090"


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """Everything the sandbox EHR needs to start."""

    # Where the sandbox is reachable from browsers and apps; the FHIR base is {public_url}/fhir.
    public_url: str = DEFAULT_PUBLIC_URL
    database_url: str = "sqlite:///instance/sandbox.sqlite3"
    # JSON file of registered clients (see ehr_sandbox/auth/clients.py for its shape).
    clients_file: str | None = None
    access_token_lifetime_s: int = 3600
    refresh_token_lifetime_s: int = 30 * 24 * 3600
    # Rotate refresh tokens on use (each works once), as many EHRs do; False keeps one.
    rotate_refresh_tokens: bool = True
    # Added to every FHIR and token request, to simulate a real EHR's network.
    latency_ms: int = 0
    # The app the chart page and the portal launch (SMART launch URL, without parameters).
    app_launch_url: str = "http://127.0.0.1:8080/launch"
    # The sidebar frame's `sandbox` flags. EHRs differ: without allow-same-origin the app
    # runs in an opaque origin that keeps neither cookies nor storage.
    app_frame_sandbox: str = "allow-scripts allow-forms allow-same-origin allow-popups"
    # The app's CDS Hooks discovery URL, called when a chart opens (ehr_sandbox/cds_client.py);
    # None: `/cds-services` on the origin of app_launch_url.
    cds_services_url: str | None = None
    # The OAuth client the hook's fhirAuthorization token is issued to (the app's).
    cds_app_client_id: str = "flip"
    # Signs sessions of the sandbox's own pages (login, consent); not a production secret.
    secret_key: str = "sandbox-only-not-a-secret"  # noqa: S105
    # The practitioner signed in to the EHR when the chart page launches an app.
    default_practitioner: str | None = None
    # The write rules of the SMART-protected base: open, epic-like or oracle-like (see
    # ehr_sandbox/fhir/profiles.py); /open/fhir always accepts every write.
    profile: str = "open"

    @property
    def fhir_base(self) -> str:
        """The SMART-protected FHIR base URL."""
        return f"{self.public_url.rstrip('/')}/fhir"

    @property
    def open_fhir_base(self) -> str:
        """The unauthenticated, loopback-only FHIR base URL."""
        return f"{self.public_url.rstrip('/')}/open/fhir"


def load_settings(overrides: Mapping[str, Any] | None = None) -> SandboxSettings:
    """Build settings from defaults, FLIP_SANDBOX_* environment variables and overrides."""
    settings = SandboxSettings()
    values: dict[str, Any] = {}
    for f in fields(SandboxSettings):
        env = os.environ.get(f"FLIP_SANDBOX_{f.name.upper()}")
        if env is not None:
            if f.type == "int":
                values[f.name] = int(env)
            elif f.type == "bool":
                values[f.name] = env.strip().lower() in ("1", "true", "yes", "on")
            else:
                values[f.name] = env
    settings = replace(settings, **values)
    if overrides:
        settings = replace(settings, **dict(overrides))
    return settings


def ensure_sqlite_dir(database_url: str) -> None:
    """Create the folder of a relative SQLite file so a fresh clone can start."""
    prefix = "sqlite:///"
    if database_url.startswith(prefix) and database_url != "sqlite:///:memory:":
        Path(database_url[len(prefix) :]).parent.mkdir(parents=True, exist_ok=True)
