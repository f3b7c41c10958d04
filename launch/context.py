"""The launch context: what the token response says the launch is about.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#launch-context-arrives-with-your-access_token
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class LaunchContext:
    """Patient, encounter, user and display hints of one launch."""

    iss: str
    patient: str | None
    encounter: str | None
    fhir_user: str | None  # as given: absolute URL or relative `Practitioner/123`
    need_patient_banner: bool
    smart_style_url: str | None
    intent: str | None
    fhir_context: tuple[Mapping[str, Any], ...]
    granted_scopes: frozenset[str]

    @property
    def fhir_user_reference(self) -> str | None:
        """fhirUser as a relative reference (`Practitioner/123`), whatever form it came in."""
        if not self.fhir_user:
            return None
        parts = self.fhir_user.rstrip("/").split("/")
        return "/".join(parts[-2:]) if len(parts) >= 2 else None

    @property
    def user_type(self) -> str | None:
        """The signed-in user's resource type (`Practitioner`, `Patient`, ...), or None."""
        reference = self.fhir_user_reference
        return reference.split("/")[0] if reference else None


@dataclass(frozen=True, slots=True)
class TokenSet:
    """Tokens of one launch; kept server-side only, encrypted at rest."""

    access_token: str
    expires_at: float  # epoch seconds
    refresh_token: str | None
    scope: str
    id_token: str | None = None
    lifetime_s: float = 300.0

    def due_for_refresh(self, margin_s: float, *, now: float | None = None) -> bool:
        """True when the token expires within `margin_s` (or a fifth of its lifetime)."""
        margin = min(margin_s, self.lifetime_s / 5)
        return self.expires_at - (time.time() if now is None else now) <= margin


def context_from_token_response(
    iss: str, response: Mapping[str, Any], *, requested_scope: str
) -> LaunchContext:
    """Read the launch context out of a token response (tolerant of absent fields)."""
    fhir_context = response.get("fhirContext")
    # A server may grant fewer (or other) scopes than asked; no `scope` means all asked.
    scope = response.get("scope")
    granted = scope if isinstance(scope, str) else requested_scope
    return LaunchContext(
        iss=iss,
        patient=_string(response.get("patient")),
        encounter=_string(response.get("encounter")),
        fhir_user=_string(response.get("fhirUser")),
        need_patient_banner=_boolean(response.get("need_patient_banner"), default=True),
        smart_style_url=_string(response.get("smart_style_url")),
        intent=_string(response.get("intent")),
        fhir_context=tuple(c for c in fhir_context if isinstance(c, dict))
        if isinstance(fhir_context, list)
        else (),
        granted_scopes=frozenset(granted.split()),
    )


def tokens_from_response(
    response: Mapping[str, Any], *, previous_refresh_token: str | None = None
) -> TokenSet:
    """A TokenSet from a token response; keeps the old refresh token if none is returned."""
    expires_in = response.get("expires_in")
    lifetime = float(expires_in) if isinstance(expires_in, (int, float, str)) else 300.0
    return TokenSet(
        access_token=str(response["access_token"]),
        expires_at=time.time() + lifetime,
        refresh_token=_string(response.get("refresh_token")) or previous_refresh_token,
        scope=str(response.get("scope", "")),
        id_token=_string(response.get("id_token")),
        lifetime_s=lifetime,
    )


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _boolean(value: Any, *, default: bool) -> bool:
    # SMART says boolean; some servers send "true"/"false" strings.
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    return default
