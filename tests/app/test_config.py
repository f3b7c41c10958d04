"""Start-up configuration: production refuses to start without its secrets."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from smart_app import create_app
from smart_app.core.config import ConfigurationError, load_settings


def test_production_start_without_secrets_names_the_missing_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLIP_SECRET_KEY", raising=False)
    monkeypatch.delenv("FLIP_TOKEN_ENCRYPTION_KEY", raising=False)
    monkeypatch.setenv("FLIP_ENV", "production")
    with pytest.raises(ConfigurationError) as error:
        create_app()
    assert "FLIP_SECRET_KEY" in str(error.value)
    assert "FLIP_TOKEN_ENCRYPTION_KEY" in str(error.value)


def test_production_starts_with_secrets_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("FLIP_ENV", "production")
    monkeypatch.setenv("FLIP_SECRET_KEY", "s3cret-from-env")
    monkeypatch.setenv("FLIP_TOKEN_ENCRYPTION_KEY", key)
    settings = load_settings()
    assert settings.secret_key == "s3cret-from-env"
    assert settings.token_encryption_key == key


def test_a_malformed_encryption_key_is_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match="FLIP_TOKEN_ENCRYPTION_KEY is not a Fernet key"):
        load_settings({"env": "testing", "token_encryption_key": "too-short"})


def test_test_mapping_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLIP_PUBLIC_URL", "https://flip.example.org")
    settings = load_settings({"env": "testing", "public_url": "https://override.example.org"})
    assert settings.public_url == "https://override.example.org"
