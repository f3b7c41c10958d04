"""Secrets at rest: tokens and launch state sealed with Fernet; ids stored as hashes."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SealBroken(Exception):
    """A sealed value cannot be opened (wrong key, or tampered)."""


class Vault:
    """Encrypts JSON values and derives per-launch secrets from the app's keys."""

    def __init__(self, encryption_key: str, signing_key: str) -> None:
        self._fernet = Fernet(encryption_key.encode())
        self._signing_key = signing_key.encode()

    def seal(self, value: Any) -> str:
        """Encrypt a JSON-serialisable value."""
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def open(self, sealed: str) -> Any:
        """Decrypt a value sealed by `seal`."""
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken as exc:
            raise SealBroken("sealed value cannot be opened") from exc

    def api_token(self, launch_id: str) -> str:
        """The per-page secret a launch's API calls must carry (X-Flip-Launch)."""
        return hmac.new(self._signing_key, f"api:{launch_id}".encode(), hashlib.sha256).hexdigest()

    def check_api_token(self, launch_id: str, token: str | None) -> bool:
        """True when `token` is this launch's API token."""
        return token is not None and hmac.compare_digest(self.api_token(launch_id), token)


def digest(value: str) -> str:
    """A lookup key for a secret (state, launch id, browser id) that does not reveal it."""
    return hashlib.sha256(value.encode()).hexdigest()
