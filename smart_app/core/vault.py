"""Secrets at rest: tokens and launch state sealed with Fernet; ids stored as hashes.

The encryption setting holds several keys, newest first (MultiFernet): the newest seals,
every one opens, so a key can be rotated without a moment when stored rows break.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SealBroken(Exception):
    """A sealed value cannot be opened (wrong key, or tampered)."""


class Vault:
    """Encrypts JSON values and derives per-launch secrets from the app's keys."""

    def __init__(self, encryption_keys: str | Sequence[str], signing_key: str) -> None:
        keys = split_keys(encryption_keys) if isinstance(encryption_keys, str) else encryption_keys
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        self._signing_key = signing_key.encode()

    def seal(self, value: Any) -> str:
        """Encrypt a JSON-serialisable value."""
        return self._fernet.encrypt(_dumps(value)).decode()

    def open(self, sealed: str) -> Any:
        """Decrypt a value sealed by `seal`."""
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken as exc:
            raise SealBroken("sealed value cannot be opened") from exc

    def reseal(self, sealed: str) -> str:
        """The same value sealed with the newest key (SealBroken when no key opens it)."""
        try:
            return self._fernet.rotate(sealed.encode()).decode()
        except InvalidToken as exc:
            raise SealBroken("sealed value cannot be opened") from exc

    def api_token(self, launch_id: str) -> str:
        """The per-page secret a launch's API calls must carry (X-Flip-Launch)."""
        return hmac.new(self._signing_key, f"api:{launch_id}".encode(), hashlib.sha256).hexdigest()

    def check_api_token(self, launch_id: str, token: str | None) -> bool:
        """True when `token` is this launch's API token."""
        return token is not None and hmac.compare_digest(self.api_token(launch_id), token)


def _dumps(value: Any) -> bytes:
    # orjson writes a chart read (a 5,000-item answer is 200 kB) ten times faster than
    # json.dumps, on every page. What it refuses (a lone surrogate, an integer over 64 bits,
    # a key that is not a string) is written as before. It writes a float NaN as null; none
    # comes from the EHR (launch/gateway.py reads NaN as text).
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode()


def split_keys(setting: str) -> list[str]:
    """The keys of FLIP_TOKEN_ENCRYPTION_KEY: comma-separated, newest first."""
    return [key.strip() for key in setting.split(",") if key.strip()]


def digest(value: str) -> str:
    """A lookup key for a secret (state, launch id, browser id) that does not reveal it."""
    return hashlib.sha256(value.encode()).hexdigest()
