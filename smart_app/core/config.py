"""Flip's settings: defaults, then FLIP_ environment variables, then a test mapping.

Production start-up fails, naming the variable, when a secret is missing: a secret never
has a default there. In development the missing secrets are generated once and kept in
Flask's instance folder, so a restart (or a second worker) opens what the first sealed.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from limits import parse_many

from smart_app.core.vault import split_keys

# Secrets that must come from the environment in production.
SECRET_SETTINGS = ("secret_key", "token_encryption_key")
# Switches whose default, None, means "decided by env": read from the environment as bools.
ENV_DECIDED_SWITCHES = ("outbox_worker", "warm_up")
# Development's generated secrets, in the instance folder (readable by this user only).
DEV_SECRETS_FILE = "flip-dev-secrets.json"


class ConfigurationError(RuntimeError):
    """A setting is missing or invalid; the message names the FLIP_ variable."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything Flip needs to start."""

    env: str = "production"  # production | development | testing
    database_url: str = "sqlite:///instance/flip.sqlite3"
    # Signs Flask's own cookies; Flip keeps no tokens in them.
    secret_key: str | None = None
    # Fernet keys that encrypt tokens, drafts and plans at rest: comma-separated, newest
    # first. The newest seals; every key opens (`flip keys rotate` re-seals with the newest).
    token_encryption_key: str | None = None
    # Where Flip is reachable (its redirect URI is {public_url}/callback).
    public_url: str = "http://127.0.0.1:8080"
    # JSON file of EHR registrations keyed by iss.
    registrations_file: str | None = None
    # Pre-visit answers count when sent this many days before the visit.
    previsit_window_days: int = 14
    # Agenda actions (merge, split) reuse the launch's last chart read while it is younger
    # than this; the visit page and "refresh" read again. Finishing reuses any age.
    chart_read_reuse_s: int = 300
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
    # Launches per client address on /launch and on /callback, each (flask-limiter's
    # notation: "120 per minute", "10 per second; 500 per hour"); where they are counted.
    launch_rate_limit: str = "120 per minute"
    rate_limit_storage_uri: str = "memory://"
    # Flask's instance folder (development keeps its generated secrets there); None:
    # Flask's default, `instance/` beside the package.
    instance_path: str | None = None
    # The clinic's IANA time zone: a visit without an encounter is the patient's visit
    # of that day there.
    clinic_timezone: str = "UTC"
    # The language the clinic's staff speak (BCP-47): a person who chose another one is
    # shown to the clinician with "interpreter".
    clinic_language: str = "en"
    # The largest request body Flip reads, in bytes; a larger one is refused with 413
    # before it is parsed. Flip's largest request (a plan at every limit) is under 200 KB.
    max_request_bytes: int = 1024 * 1024
    # Compile the page templates and import the FHIR models at start, so that the first
    # launch after a start does not wait for them; None: on, except when testing.
    warm_up: bool | None = None

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
    def warms_up(self) -> bool:
        """True when create_app should do the first requests' one-time work itself."""
        return self.env != "testing" if self.warm_up is None else self.warm_up

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
    if missing:
        # Development keeps its generated secrets in the instance folder: a per-process key
        # would leave every draft sealed before a restart (or by the other worker) unopenable.
        # Tests get fresh ones per app, and never write the developer's instance folder.
        generated = (
            _dev_secrets(settings.instance_path or _default_instance_path())
            if settings.env == "development"
            else _new_secrets()
        )
        settings = replace(
            settings,
            secret_key=settings.secret_key or generated["secret_key"],
            token_encryption_key=settings.token_encryption_key or generated["token_encryption_key"],
        )
    try:
        settings.clinic_zone  # noqa: B018 (checked at start, not at the first visit)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigurationError(
            f"{env_name('clinic_timezone')} must be an IANA time zone such as "
            f"America/New_York, not {settings.clinic_timezone!r}."
        ) from exc
    try:
        parse_many(settings.launch_rate_limit)
    except ValueError as exc:
        raise ConfigurationError(
            f'{env_name("launch_rate_limit")} must read like "120 per minute", '
            f"not {settings.launch_rate_limit!r}."
        ) from exc
    keys = split_keys(settings.token_encryption_key or "")
    for position, key in enumerate(keys or [""], start=1):
        try:
            Fernet(key)
        except ValueError as exc:
            which = f" (key {position} of {len(keys)})" if len(keys) > 1 else ""
            raise ConfigurationError(
                f"{env_name('token_encryption_key')} is not a Fernet key{which}: 32 url-safe "
                "base64-encoded bytes, made by `flip keygen`; several keys are comma-separated, "
                "newest first."
            ) from exc
    return settings


def _new_secrets() -> dict[str, str]:
    return {
        "secret_key": secrets.token_urlsafe(32),
        "token_encryption_key": Fernet.generate_key().decode(),
    }


def _dev_secrets(instance_path: str) -> dict[str, str]:
    """Development's secrets from the instance folder, created (mode 0600) on first use."""
    os.makedirs(instance_path, mode=0o700, exist_ok=True)
    path = os.path.join(instance_path, DEV_SECRETS_FILE)
    if not os.path.exists(path):
        # Written aside, then linked into place: of two workers starting at once, both end
        # up with the one file that won, never with half of one.
        temporary = f"{path}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(_new_secrets(), handle)
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    with open(path) as handle:
        stored: dict[str, str] = json.load(handle)
    if set(SECRET_SETTINGS) - stored.keys():
        raise ConfigurationError(f"{path} lacks {', '.join(SECRET_SETTINGS)}: delete it.")
    return stored


def _default_instance_path() -> str:
    # The folder Flask gives the app when no instance_path is set.
    from flask import Flask

    return Flask("smart_app").instance_path


def _typed(name: str, value: str) -> Any:
    # Environment variables are text: numbers and switches become what their default is.
    default = getattr(Settings(), name)
    try:
        if isinstance(default, bool) or name in ENV_DECIDED_SWITCHES:
            return value.strip().lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except ValueError as exc:
        raise ConfigurationError(f"{env_name(name)} must be a number, not {value!r}.") from exc
    return value
