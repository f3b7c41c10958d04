"""Incoming resources: JSON parsing, R4 validation, references and patient compartments."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from ehr_sandbox.fhir.errors import FhirError, JsonObject

SUPPORTED_TYPES = (
    "Appointment",
    "CarePlan",
    "CodeSystem",
    "Condition",
    "Device",
    "DocumentReference",
    "Encounter",
    "Goal",
    "Location",
    "Observation",
    "Organization",
    "Patient",
    "Practitioner",
    "Provenance",
    "Questionnaire",
    "QuestionnaireResponse",
    "RelatedPerson",
    "ValueSet",
)

# Types outside every patient compartment: a patient-scoped token may read and search them.
# Terminology and definitions an app publishes (its Questionnaire and CodeSystems) too.
SHARED_TYPES = frozenset(
    {
        "CodeSystem",
        "Device",
        "Location",
        "Organization",
        "Practitioner",
        "Questionnaire",
        "ValueSet",
    }
)

# Elements whose Patient reference puts a resource in that patient's compartment, in order
# of preference (a simplification of https://hl7.org/fhir/R4/compartmentdefinition-patient.html).
_COMPARTMENT_ELEMENTS = ("subject", "patient", "beneficiary", "author")

_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def parse_json(body: bytes) -> JsonObject:
    """The JSON object of a request body; 400 when it is not a JSON object."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FhirError(400, f"The body is not valid JSON: {exc}", code="structure") from exc
    if not isinstance(data, dict):
        raise FhirError(400, "The body must be a JSON object", code="structure")
    return data


def check_type(resource_type: str) -> None:
    """404 unless the server stores this resource type."""
    if resource_type not in SUPPORTED_TYPES:
        raise FhirError(404, f"Resource type {resource_type!r} is not supported here")


def check_id(resource_id: str) -> None:
    """400 unless `resource_id` is a valid FHIR id (https://hl7.org/fhir/R4/datatypes.html#id)."""
    if not _ID.match(resource_id):
        raise FhirError(400, f"{resource_id!r} is not a valid resource id")


def validate_resource(data: JsonObject, *, expected_type: str | None = None) -> JsonObject:
    """Check a resource against the R4 (R4B) model of its type; 400 with the reason if invalid."""
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str):
        raise FhirError(400, "The resource has no resourceType", code="structure")
    if expected_type is not None and resource_type != expected_type:
        raise FhirError(400, f"Expected a {expected_type}, got a {resource_type}")
    check_type(resource_type)
    try:
        get_fhir_model_class(resource_type).model_validate(data)
    except (ValidationError, ValueError, TypeError) as exc:
        raise FhirError(400, f"Invalid {resource_type}: {_plain(str(exc))}") from exc
    return data


def _plain(message: str) -> str:
    # pydantic appends a documentation link to each error; a FHIR client does not need it.
    lines = [line for line in message.splitlines() if "errors.pydantic.dev" not in line]
    return " ".join(line.strip() for line in lines)


def references(value: Any) -> Iterator[JsonObject]:
    """Every Reference-shaped object (a dict with a string `reference`) inside `value`."""
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value
        for child in value.values():
            yield from references(child)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def patient_of_reference(reference: Any) -> str | None:
    """The Patient id a Reference points to, or None for any other target."""
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    match = _PATIENT_REFERENCE.search(reference["reference"])
    return match.group(1) if match else None


def split_reference(reference: str) -> tuple[str, str] | None:
    """(type, id) of a relative or absolute literal reference, or None."""
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) < 2:
        return None
    return parts[-2], parts[-1]


CompartmentLookup = Callable[[str, str], str | None]


def compartment_of(resource: JsonObject, lookup: CompartmentLookup) -> str | None:
    """The id of the Patient whose compartment holds `resource` (None: shared resource).

    `lookup(type, id)` gives the compartment of a stored resource, so a Provenance lands in
    the compartment of what it is about.
    """
    resource_type = resource["resourceType"]
    if resource_type == "Patient":
        return str(resource.get("id")) if resource.get("id") else None
    if resource_type in SHARED_TYPES:
        return None
    for element in _COMPARTMENT_ELEMENTS:
        value = resource.get(element)
        for candidate in value if isinstance(value, list) else [value]:
            patient = patient_of_reference(candidate)
            if patient is not None:
                return patient
    if resource_type == "Appointment":
        for participant in resource.get("participant", []):
            patient = patient_of_reference(participant.get("actor"))
            if patient is not None:
                return patient
    if resource_type == "Provenance":
        for target in resource.get("target", []):
            patient = patient_of_reference(target)
            if patient is not None:
                return patient
            parts = split_reference(str(target.get("reference", "")))
            if parts is not None and (found := lookup(*parts)) is not None:
                return found
    return None
