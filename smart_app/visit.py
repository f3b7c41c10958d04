"""The visit page's data: the launch's patient and encounter, read in one round trip."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from fhir_mappings.patient import (
    EncounterSummary,
    PatientSummary,
    encounter_to_summary,
    patient_to_summary,
)
from launch.context import LaunchContext
from launch.fhir_errors import FhirFatalError
from launch.gateway import FhirGateway, SearchRequest

CAPABILITIES_TTL_S = 3600.0


@dataclass(frozen=True, slots=True)
class Visit:
    """What the visit page shows: who, which encounter, and how to display them."""

    patient: PatientSummary
    encounter: EncounterSummary | None
    need_patient_banner: bool
    smart_style_url: str | None


class Capabilities:
    """Whether each FHIR server supports `batch`, from its CapabilityStatement, cached."""

    def __init__(self) -> None:
        self._batch: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def supports_batch(self, gateway: FhirGateway) -> bool:
        """True when the server's CapabilityStatement lists the batch interaction."""
        with self._lock:
            cached = self._batch.get(gateway.base)
        if cached and time.monotonic() - cached[0] < CAPABILITIES_TTL_S:
            return cached[1]
        statement = gateway.capabilities()
        supported = any(
            interaction.get("code") == "batch"
            for rest in statement.get("rest") or []
            for interaction in rest.get("interaction") or []
        )
        with self._lock:
            self._batch[gateway.base] = (time.monotonic(), supported)
        return supported


def load_visit(gateway: FhirGateway, context: LaunchContext, capabilities: Capabilities) -> Visit:
    """Read the launch's patient and encounter (one batch where the server allows)."""
    assert context.patient is not None  # a launch without a patient is refused at callback
    searches = [SearchRequest("Patient", {"_id": context.patient})]
    if context.encounter:
        searches.append(
            SearchRequest("Encounter", {"_id": context.encounter, "patient": context.patient})
        )
    results = gateway.batch_search(searches, use_batch=capabilities.supports_batch(gateway))
    patient = _first(results[0], patient_to_summary)
    if patient is None:
        raise FhirFatalError("The EHR returned no readable Patient for this launch.", status=404)
    encounter = _first(results[1], encounter_to_summary) if len(results) > 1 else None
    return Visit(
        patient=patient,
        encounter=encounter,
        need_patient_banner=context.need_patient_banner,
        smart_style_url=context.smart_style_url,
    )


def _first(resources: list[dict[str, Any]], mapping: Any) -> Any:
    for resource in resources:
        summary = mapping(resource)
        if summary is not None:
            return summary
    return None
