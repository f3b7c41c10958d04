"""A `patient-view` hook request, parsed and checked (CDS Hooks 2.0, "HTTP Request").

https://cds-hooks.hl7.org/2.0/#http-request: `hook`, `hookInstance`, `context`
(`patientId`, `userId`), optional `fhirServer` with `fhirAuthorization`, optional
`prefetch`. Anything that could make the card be about another patient is refused: a
prefetched Patient whose id is not `context.patientId` is a 400, never a card.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fhir_mappings.fields import Resource

HOOK = "patient-view"
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


class CdsBadRequest(Exception):
    """The hook request is malformed; the message (no PHI) is answered as `error`."""


@dataclass(frozen=True, slots=True)
class HookRequest:
    """What Flip uses of one patient-view call."""

    hook_instance: str
    patient_id: str
    fhir_server: str | None = None
    access_token: str | None = None
    patient: Resource | None = None  # prefetched
    responses: list[Resource] | None = None  # prefetched QuestionnaireResponses
    family: list[Resource] | None = None  # prefetched RelatedPersons
    user: str | None = None


def parse_hook_request(body: object) -> HookRequest:
    """The checked request; CdsBadRequest says what is wrong."""
    if not isinstance(body, dict):
        raise CdsBadRequest("send the hook request as a JSON object")
    if body.get("hook") != HOOK:
        raise CdsBadRequest(f"this service answers the {HOOK} hook only")
    hook_instance = body.get("hookInstance")
    if not isinstance(hook_instance, str) or not hook_instance:
        raise CdsBadRequest("hookInstance is required")
    context = body.get("context")
    patient_id = context.get("patientId") if isinstance(context, dict) else None
    if not isinstance(patient_id, str) or not _FHIR_ID.fullmatch(patient_id):
        raise CdsBadRequest("context.patientId is required (a FHIR id)")
    user = context.get("userId") if isinstance(context, dict) else None
    fhir_server, access_token = _fhir_access(body)
    prefetch = body.get("prefetch", {})
    if prefetch is None:
        prefetch = {}
    if not isinstance(prefetch, dict):
        raise CdsBadRequest("prefetch must be an object")
    patient = _prefetched_patient(prefetch.get("patient"), patient_id)
    return HookRequest(
        hook_instance=hook_instance,
        patient_id=patient_id,
        fhir_server=fhir_server,
        access_token=access_token,
        patient=patient,
        responses=_prefetched_bundle(prefetch.get("previsitAnswers"), "previsitAnswers"),
        family=_prefetched_bundle(prefetch.get("family"), "family"),
        user=user if isinstance(user, str) else None,
    )


def _fhir_access(body: dict[str, Any]) -> tuple[str | None, str | None]:
    fhir_server = body.get("fhirServer")
    if fhir_server is not None and (
        not isinstance(fhir_server, str) or not fhir_server.startswith(("https://", "http://"))
    ):
        raise CdsBadRequest("fhirServer must be a URL")
    authorization = body.get("fhirAuthorization")
    if authorization is None:
        return fhir_server, None
    if not isinstance(authorization, dict) or not isinstance(
        authorization.get("access_token"), str
    ):
        raise CdsBadRequest("fhirAuthorization needs an access_token")
    if fhir_server is None:
        raise CdsBadRequest("fhirAuthorization needs a fhirServer")
    if str(authorization.get("token_type", "Bearer")).lower() != "bearer":
        raise CdsBadRequest("fhirAuthorization.token_type must be Bearer")
    return fhir_server, authorization["access_token"]


def _prefetched_patient(value: object, patient_id: str) -> Resource | None:
    # Null: the client could not prefetch it (CDS Hooks 2.0 "Prefetch template").
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("resourceType") != "Patient":
        raise CdsBadRequest("prefetch.patient must be a Patient")
    if value.get("id") != patient_id:
        raise CdsBadRequest("prefetch.patient is not the patient of context.patientId")
    return value


def _prefetched_bundle(value: object, name: str) -> list[Resource] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        raise CdsBadRequest(f"prefetch.{name} must be a Bundle")
    entries = value.get("entry", [])
    if not isinstance(entries, list):
        raise CdsBadRequest(f"prefetch.{name}.entry must be a list")
    return [
        e["resource"]
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]
