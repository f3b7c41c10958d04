"""What each FHIR server says it supports: its CapabilityStatement, fetched once an hour.

Reading the visit asks whether `batch` is supported; writing the plan asks which creates,
conditional creates and `transaction` are. One cache serves both.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from launch.fhir_errors import FhirTemporaryError
from launch.gateway import FhirGateway

CAPABILITIES_TTL_S = 3600.0
_SCOPE = re.compile(r"^(patient|user|system)/(\*|[A-Z][A-Za-z]+)\.([a-z*]+)(\?.*)?$")


class ServerCapabilities:
    """Each server's CapabilityStatement, cached per FHIR base."""

    def __init__(self, *, ttl_s: float = CAPABILITIES_TTL_S) -> None:
        self._ttl_s = ttl_s
        self._statements: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def statement(self, gateway: FhirGateway) -> dict[str, Any]:
        """The server's CapabilityStatement (cached)."""
        with self._lock:
            cached = self._statements.get(gateway.base)
        if cached and time.monotonic() - cached[0] < self._ttl_s:
            return cached[1]
        try:
            statement = gateway.capabilities()
        except FhirTemporaryError:
            if cached:  # the EHR is down for now: what it said an hour ago still holds
                return cached[1]
            raise
        with self._lock:
            self._statements[gateway.base] = (time.monotonic(), statement)
        return statement

    def supports_batch(self, gateway: FhirGateway) -> bool:
        """True when the server's CapabilityStatement lists the batch interaction."""
        return any(
            interaction.get("code") == "batch"
            for rest in self.statement(gateway).get("rest") or []
            for interaction in rest.get("interaction") or []
        )


def type_interactions(statement: Mapping[str, Any], resource_type: str) -> frozenset[str]:
    """The interactions a server lists for one type (`create`, `update`...), plus
    `conditional-create` when it declares conditionalCreate
    (https://hl7.org/fhir/R4/capabilitystatement.html)."""
    found: set[str] = set()
    for rest in statement.get("rest") or []:
        if rest.get("mode", "server") != "server":
            continue
        for resource in rest.get("resource") or []:
            if resource.get("type") != resource_type:
                continue
            found |= {str(i.get("code")) for i in resource.get("interaction") or []}
            if resource.get("conditionalCreate") is True:
                found.add("conditional-create")
    return frozenset(found)


def scopes_permit(scopes: Iterable[str], resource_type: str, permission: str) -> bool:
    """True when a SMART v1 (`.write`, `.*`) or v2 (`.c`, `.cruds`) scope grants
    `permission` (`c` create, `u` update) on the type
    (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html)."""
    for scope in scopes:
        match = _SCOPE.match(scope)
        if match is None or match[2] not in ("*", resource_type):
            continue
        granted = match[3]
        if granted in ("write", "*"):
            return True
        if re.fullmatch(r"c?r?u?d?s?", granted) and permission in granted:
            return True
    return False
