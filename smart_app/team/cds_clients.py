"""The CDS clients (EHRs) allowed to call Flip's CDS Hooks service, from the registrations file.

```json
{"registrations": [...],
 "cds_clients": [{
   "iss": "https://ehr.example.org",
   "jwks_url": "https://ehr.example.org/cds-client/jwks.json",
   "jku_allowlist": ["https://keys.ehr.example.org/jwks.json"],
   "fhir_servers": ["https://ehr.example.org/fhir"]
 }]}
```
`iss` is the JWT issuer the EHR signs its hook requests with; its keys come from
`jwks_url`, or from a JWT's `jku` header when that URL is `jwks_url` or listed in
`jku_allowlist` (CDS Hooks 2.0 "Trusting CDS Clients": a service must not fetch a `jku`
it does not trust). Flip reads a hook's `fhirServer` with its `fhirAuthorization` token
only when that server is in `fhir_servers`, so an EHR cannot point Flip at another one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launch.registrations import RegistrationError


@dataclass(frozen=True, slots=True)
class CdsClient:
    """One EHR allowed to call the CDS service."""

    iss: str
    jwks_url: str
    jku_allowlist: tuple[str, ...] = ()
    fhir_servers: tuple[str, ...] = ()

    def trusts_jku(self, jku: str) -> bool:
        """True when `jku` is a key set URL this client is known to publish."""
        return jku in (self.jwks_url, *self.jku_allowlist)

    def allows_fhir_server(self, fhir_server: str) -> bool:
        """True when Flip may send this client's access token to `fhir_server`."""
        return fhir_server.rstrip("/") in {s.rstrip("/") for s in self.fhir_servers}


class CdsClients:
    """Every allowed CDS client, by iss (exact: the JWT's iss is compared as a string)."""

    def __init__(self, clients: Iterable[CdsClient]) -> None:
        self._by_iss = {c.iss: c for c in clients}

    def find(self, iss: object) -> CdsClient | None:
        """The client whose iss this is, or None."""
        return self._by_iss.get(iss) if isinstance(iss, str) else None

    def __len__(self) -> int:
        return len(self._by_iss)


def load_cds_clients(path: str | Path | None) -> CdsClients:
    """The `cds_clients` of a registrations file (none when the file has no such key)."""
    if path is None:
        return CdsClients([])
    file = Path(path)
    try:
        document = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise RegistrationError(f"Cannot read registrations file {file}: {exc}") from exc
    entries = document.get("cds_clients", []) if isinstance(document, dict) else []
    if not isinstance(entries, list):
        raise RegistrationError(f"{file} cds_clients must be a list")
    return CdsClients(_parse(f"{file} cds_clients[{i}]", e) for i, e in enumerate(entries))


def _parse(where: str, entry: Any) -> CdsClient:
    if not isinstance(entry, dict):
        raise RegistrationError(f"{where} is not an object")
    for required in ("iss", "jwks_url"):
        if not isinstance(entry.get(required), str) or not entry[required]:
            raise RegistrationError(f"{where} needs '{required}'")
    return CdsClient(
        iss=entry["iss"],
        jwks_url=entry["jwks_url"],
        jku_allowlist=_strings(entry.get("jku_allowlist", []), f"{where} jku_allowlist"),
        fhir_servers=_strings(entry.get("fhir_servers", []), f"{where} fhir_servers"),
    )


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RegistrationError(f"{where} must be a list of URLs")
    return tuple(value)
