"""What each FHIR server says it supports: its CapabilityStatement, fetched once an hour.

Reading the visit asks whether `batch` is supported; writing the plan asks which creates,
conditional creates and `transaction` are. One cache serves both.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from launch.gateway import FhirGateway

CAPABILITIES_TTL_S = 3600.0


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
        statement = gateway.capabilities()
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
