"""Flip's settings: defaults, then FLIP_ environment variables, then a test mapping.

Production start-up fails, naming the variable, when a secret is missing: a secret never
has a default there.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet

# Secrets that must come from the environment in production.
SECRET_SETTINGS = ("secret_key", "token_encryption_key")


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the message names the FLIP_ variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything Flip needs to start."""

    env: str = "production"  # production | development | testing
    database_url: str = "sqlite:///instance/flip.sqlite3"
    # Signs Flask's own cookies; Flip keeps no tokens in them.
    secret_key: str | None = None
    # Fernet key that encrypts OAuth tokens at rest.
    token_encryption_key: str | None = None
    # Where Flip is reachable (its redirect URI is {public_url}/callback).
    public_url: str = "http://127.0.0.1:8080"
    # JSON file of EHR registrations keyed by iss.
    registrations_file: str | None = None
    # Pre-visit answers count when sent this many days before the visit.
    previsit_window_days: int = 14
    # Base of Flip's canonical URLs: its Questionnaire, CodeSystems and identifier system.
    canonical_base: str = "https://flip.example.org/fhir"
    # The write-back worker thread; None: on, except when testing (tests drive the outbox).
    outbox_worker: bool | None = None
    outbox_poll_s: float = 0.5
    # Retries back off exponentially from base to cap, with full jitter.
    outbox_backoff_base_s: float = 2.0
    outbox_backoff_cap_s: float = 300.0
    # How long one write-back request may take before it counts as a timeout.
    outbox_timeout_s: float = 20.0
    # The clinic's IANA time zone: a visit without an encounter is the patient's visit
    # of that day there.
    clinic_timezone: str = "UTC"

    @property
    def clinic_zone(self) -> ZoneInfo:
        """The clinic's time zone."""
        return ZoneInfo(self.clinic_timezone)

    @property
    def runs_outbox_worker(self) -> bool:
        """True when create_app should start the write-back worker thread."""
        if self.outbox_worker is None:
            return self.env != "testing"
        return self.outbox_worker

    @property
    def is_production(self) -> bool:
        """True unless explicitly running for development or tests."""
        return self.env not in ("development", "testing")


def env_name(setting: str) -> str:
    """The environment variable of a setting."""
    return f"FLIP_{setting.upper()}"


def load_settings(overrides: Mapping[str, Any] | None = None) -> Settings:
    """Settings from defaults, FLIP_ environment variables and `overrides`, checked."""
    from_env = {
        f.name: _typed(f.name, os.environ[env_name(f.name)])
        for f in fields(Settings)
        if env_name(f.name) in os.environ
    }
    settings = replace(Settings(), **{**from_env, **dict(overrides or {})})
    missing = [name for name in SECRET_SETTINGS if not getattr(settings, name)]
    if missing and settings.is_production:
        names = ", ".join(env_name(name) for name in missing)
        raise ConfigurationError(f"Flip cannot start in production without {names}.")
    # Outside production a missing secret is generated for this process only: a restart
    # signs out every launch, which is what a developer expects of a dev server.
    settings = replace(
        settings,
        secret_key=settings.secret_key or secrets.token_urlsafe(32),
        token_encryption_key=settings.token_encryption_key or Fernet.generate_key().decode(),
    )
    try:
        settings.clinic_zone  # noqa: B018 (checked at start, not at the first visit)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"{env_name('clinic_timezone')} must be an IANA time zone such as "
            f"America/New_York, not {settings.clinic_timezone!r}."
        ) from exc
    try:
        Fernet(settings.token_encryption_key or "")
    except ValueError as exc:
        raise ConfigurationError(
            f"{env_name('token_encryption_key')} is not a Fernet key "
            "(32 url-safe base64-encoded bytes; make one with `flip keygen`)."
        ) from exc
    return settings


def _typed(name: str, value: str) -> Any:
    # Environment variables are text: numbers and switches become what their default is.
    default = getattr(Settings(), name)
    try:
        if isinstance(default, bool) or name == "outbox_worker":
            return value.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError as exc:
        raise ConfigurationError(f"{env_name(name)} must be a number, not {value!r}.") from exc
    return value
