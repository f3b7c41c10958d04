"""Registered SMART apps: the clients file, registration, and key lookup for assertions.

The clients file (settings.clients_file) looks like::

    {"clients": [{"client_id": "flip", "client_name": "Flip",
                  "redirect_uris": ["http://127.0.0.1:8080/callback"],
                  "client_type": "public" | "symmetric" | "asymmetric",
                  "client_secret": "...", "jwks": {"keys": [...]}, "jwks_url": "...",
                  "scope": "launch openid fhirUser patient/*.rs"}]}

`client_secret` is required for symmetric clients, `jwks` or `jwks_url` for asymmetric
ones (SMART 2.2 client-confidential-asymmetric).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import requests
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from ehr_sandbox.auth.models import ClientType, OAuthClient, digest


class ClientRegistrationError(ValueError):
    """A client description that cannot be registered; the message says what is wrong."""


class ClientKeysUnavailable(Exception):
    """The public keys of an asymmetric client could not be read."""


def register_client(
    session: Session,
    *,
    client_id: str,
    client_name: str,
    redirect_uris: Sequence[str],
    client_type: ClientType | str,
    client_secret: str | None = None,
    jwks: Mapping[str, Any] | None = None,
    jwks_url: str | None = None,
    scope: str | None = None,
) -> OAuthClient:
    """Register a client, or replace the registration with the same client_id."""
    kind = ClientType(client_type)
    if not redirect_uris:
        raise ClientRegistrationError(f"client {client_id!r}: at least one redirect_uri")
    if kind is ClientType.SYMMETRIC and not client_secret:
        raise ClientRegistrationError(f"client {client_id!r}: symmetric needs client_secret")
    if kind is ClientType.ASYMMETRIC and not (jwks or jwks_url):
        raise ClientRegistrationError(f"client {client_id!r}: asymmetric needs jwks or jwks_url")
    if jwks is not None:
        try:
            KeySet.import_key_set(dict(jwks))  # type: ignore[arg-type]
        except (ValueError, KeyError, TypeError) as exc:
            raise ClientRegistrationError(f"client {client_id!r}: unreadable jwks") from exc
    client = session.get(OAuthClient, client_id) or OAuthClient(client_id=client_id)
    client.client_name = client_name
    client.client_type = kind.value
    client.redirect_uris = list(redirect_uris)
    # A public client never has a secret, even if the file gives one.
    has_secret = kind is not ClientType.PUBLIC and client_secret
    client.secret_digest = digest(client_secret) if has_secret and client_secret else None
    client.jwks = dict(jwks) if jwks is not None else None
    client.jwks_url = jwks_url
    client.scope = scope
    session.add(client)
    return client


def load_clients_file(session: Session, path: str | Path) -> list[OAuthClient]:
    """Register every client of a clients JSON file (see the module docstring)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        entries = data["clients"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ClientRegistrationError(f"cannot read clients file {path}: {exc}") from exc
    clients = []
    for entry in entries:
        try:
            clients.append(
                register_client(
                    session,
                    client_id=entry["client_id"],
                    client_name=entry.get("client_name", entry["client_id"]),
                    redirect_uris=entry["redirect_uris"],
                    client_type=entry["client_type"],
                    client_secret=entry.get("client_secret"),
                    jwks=entry.get("jwks"),
                    jwks_url=entry.get("jwks_url"),
                    scope=entry.get("scope"),
                )
            )
        except (KeyError, ValueError) as exc:
            raise ClientRegistrationError(f"{path}: bad client entry: {exc}") from exc
    return clients


def find_client(session: Session, client_id: str) -> OAuthClient | None:
    """The registered client with this id, or None."""
    return session.get(OAuthClient, client_id)


def client_public_keys(client: OAuthClient) -> KeySet:
    """The client's public keys: inline `jwks`, else fetched from `jwks_url`."""
    if client.jwks is not None:
        return KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
    if client.jwks_url is None:
        raise ClientKeysUnavailable(f"client {client.client_id} has no keys")
    try:
        response = requests.get(client.jwks_url, timeout=5)
        response.raise_for_status()
        return KeySet.import_key_set(response.json())
    except (requests.RequestException, ValueError) as exc:
        raise ClientKeysUnavailable(f"cannot fetch {client.jwks_url}: {exc}") from exc
