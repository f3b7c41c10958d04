"""What a request may do on the FHIR server: SMART v1 and v2 resource scopes.

See https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html. A `patient/`
scope reaches only the launch patient's compartment; a `user/` scope reaches what the
signed-in user may see (in the sandbox: everything). Scope query parameters
(`?category=...`) are accepted but not narrowed on; the metadata does not claim them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

INTERACTION_LETTERS = {"create": "c", "read": "r", "update": "u", "delete": "d", "search": "s"}
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
_SCOPE = re.compile(
    r"^(?P<context>patient|user|system)/(?P<type>\*|[A-Z][A-Za-z]+)\.(?P<perm>[a-z*]+)(\?.*)?$"
)


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


@dataclass(frozen=True, slots=True)
class Access:
    """The authorization a FHIR request carries."""

    scopes: tuple[ResourceScope, ...]
    patient: str | None = None  # the launch patient, for patient/ scopes
    unrestricted: bool = False  # the loopback /open/fhir server

    @classmethod
    def open(cls) -> Access:
        """Access for the unauthenticated loopback server."""
        return cls(scopes=(), unrestricted=True)

    @classmethod
    def from_scope_string(cls, scope: str, *, patient: str | None) -> Access:
        """Access granted by a token's space-separated scope string."""
        parsed = (parse_resource_scope(s) for s in scope.split())
        return cls(scopes=tuple(s for s in parsed if s is not None), patient=patient)

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


class AccessDenied(Exception):
    """A FHIR request refused before it reaches the data: 401 (no valid token) or 403."""

    def __init__(self, status: int, message: str, *, www_authenticate: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.www_authenticate = www_authenticate
