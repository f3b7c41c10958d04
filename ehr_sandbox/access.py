"""What a request may do on the FHIR server: SMART v1 and v2 resource scopes.

See https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html. A `patient/`
scope reaches only the launch patient's compartment; a `user/` scope reaches what the
signed-in user may see (in the sandbox: everything). Scope query parameters
(`?category=...`) are accepted but not narrowed on; the metadata does not claim them.

Portal users (a Patient, or a RelatedPerson acting as proxy for one) hold patient/ scopes
only. A proxy is never shown a resource labelled restricted, as an EHR honouring the
label does: https://hl7.org/fhir/R4/security-labels.html#core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

INTERACTION_LETTERS = {"create": "c", "read": "r", "update": "u", "delete": "d", "search": "s"}
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<perm>[a-z*]+)(\?.*)?$"
)
# Who signs in to the portal rather than the EHR: they reach one patient's record only.
PORTAL_USER_TYPES = frozenset({"Patient", "RelatedPerson"})
PROXY_USER_TYPE = "RelatedPerson"
CONFIDENTIALITY_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
# R (restricted) and the stricter V (very restricted) are withheld from proxies; U, L, M
# and N are the levels a proxy of the patient may see
# (https://terminology.hl7.org/CodeSystem-v3-Confidentiality.html).
WITHHELD_FROM_PROXIES = frozenset({"R", "V"})


class Reach(Enum):
    """How far a permitted interaction reaches."""

    PATIENT = "patient"  # only the launch patient's compartment
    ALL = "all"


@dataclass(frozen=True, slots=True)
class ResourceScope:
    """One parsed resource scope such as `patient/Observation.rs`."""

    context: str
    resource_type: str
    letters: frozenset[str]

    def permits(self, resource_type: str, interaction: str) -> bool:
        """True when this scope allows the interaction on the resource type."""
        letter = INTERACTION_LETTERS[interaction]
        return self.resource_type in ("*", resource_type) and letter in self.letters


def parse_resource_scope(scope: str) -> ResourceScope | None:
    """Parse a SMART v1 or v2 resource scope; None for anything else (openid, launch...)."""
    match = _SCOPE.match(scope)
    if match is None:
        return None
    perm = match["perm"]
    if perm in V1_PERMISSIONS:
        letters = V1_PERMISSIONS[perm]
    elif re.fullmatch(r"c?r?u?d?s?", perm):
        letters = perm  # v2 letters must appear in this order
    else:
        return None
    return ResourceScope(match["context"], match["type"], frozenset(letters))


def user_type(fhir_user: str | None) -> str | None:
    """The resource type of a `fhirUser` URL or relative reference (`.../RelatedPerson/7`)."""
    parts = (fhir_user or "").rstrip("/").split("/")
    return parts[-2] if len(parts) >= 2 else None


def patient_scopes_only(scope: str) -> str:
    """The scopes a portal user may hold: every non-resource scope, and patient/ ones.

    A Patient or RelatedPerson sees one record, so a `user/` or `system/` scope asked of
    a standalone launch is not granted (the server may grant fewer scopes than asked:
    https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-clinical-data).
    """
    return " ".join(s for s in scope.split() if not s.startswith(("user/", "system/")))


def is_withheld_from_proxies(resource: dict[str, Any]) -> bool:
    """True when `meta.security` labels the resource restricted (v3-Confidentiality R or V)."""
    meta = resource.get("meta")
    labels = meta.get("security") if isinstance(meta, dict) else None
    return isinstance(labels, list) and any(
        isinstance(label, dict)
        and label.get("system") == CONFIDENTIALITY_SYSTEM
        and label.get("code") in WITHHELD_FROM_PROXIES
        for label in labels
    )


@dataclass(frozen=True, slots=True)
class Access:
    """The authorization a FHIR request carries."""

    scopes: tuple[ResourceScope, ...]
    patient: str | None = None  # the launch patient, for patient/ scopes
    unrestricted: bool = False  # the loopback /open/fhir server
    proxy: bool = False  # a RelatedPerson's token: restricted resources are withheld

    @classmethod
    def open(cls) -> Access:
        """Access for the unauthenticated loopback server."""
        return cls(scopes=(), unrestricted=True)

    @classmethod
    def from_scope_string(
        cls, scope: str, *, patient: str | None, fhir_user: str | None = None
    ) -> Access:
        """Access granted by a token's scope string to its user (`fhirUser`, if any)."""
        kind = user_type(fhir_user)
        if kind in PORTAL_USER_TYPES:
            # The grant already narrowed the scopes; checked again so that no token of a
            # portal user ever reaches past its patient.
            scope = patient_scopes_only(scope)
        parsed = (parse_resource_scope(s) for s in scope.split())
        return cls(
            scopes=tuple(s for s in parsed if s is not None),
            patient=patient,
            proxy=kind == PROXY_USER_TYPE,
        )

    def reach(self, resource_type: str, interaction: str) -> Reach | None:
        """How far `interaction` on `resource_type` may go, or None when forbidden."""
        if self.unrestricted:
            return Reach.ALL
        permitting = [s for s in self.scopes if s.permits(resource_type, interaction)]
        if any(s.context in ("user", "system") for s in permitting):
            return Reach.ALL
        if permitting and self.patient is not None:
            return Reach.PATIENT
        return None

    def may_see(self, resource: dict[str, Any]) -> bool:
        """False for a resource this token must never be given: a restricted one, to a proxy."""
        return not (self.proxy and is_withheld_from_proxies(resource))


class AccessDenied(Exception):
    """A FHIR request refused before it reaches the data: 401 (no valid token) or 403."""

    def __init__(self, status: int, message: str, *, www_authenticate: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.www_authenticate = www_authenticate
