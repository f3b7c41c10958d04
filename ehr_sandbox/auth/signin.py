"""Who approves an authorization: the EHR launch's practitioner, or a portal patient.

An EHR launch is pre-authorized: the clinician is already signed in to the EHR, so the
launch's practitioner (or settings.default_practitioner) approves without a page. A
standalone launch signs a sandbox patient in (no password) and asks for consent.
Launch context goes to the app only for the scopes that ask for it
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-context-data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ehr_sandbox.access import parse_resource_scope
from ehr_sandbox.auth.grants import AuthorizedUser
from ehr_sandbox.auth.models import scope_list
from ehr_sandbox.fhir.store import list_resources, read_resource
from ehr_sandbox.launch_context import find_launch
from ehr_sandbox.state import current_state

EHR_USER_WITHOUT_RECORD = "sandbox-ehr-user"
_FIXED_SCOPES = {
    "openid": "Confirm who you are to the app",
    "fhirUser": "Tell the app which person you are in the record",
    "launch": "Know which patient and visit the EHR opened it for",
    "launch/patient": "Know which patient you chose",
    "launch/encounter": "Know which visit you chose",
    "offline_access": "Keep access after you close the app, until you revoke it",
    "online_access": "Keep access while you are signed in",
}
_INTERACTIONS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}


class LaunchRefused(Exception):
    """An EHR launch that cannot be authorized; the message tells the app why."""


@dataclass(frozen=True, slots=True)
class PatientChoice:
    """A patient on the sandbox login page."""

    id: str
    label: str


def ehr_launch_user(session: Session, launch_id: str, scope: str) -> AuthorizedUser:
    """The signed-in practitioner and the launch context an EHR launch grants."""
    context = find_launch(session, launch_id)
    if context is None:
        raise LaunchRefused("Unknown or expired 'launch': open the app from the EHR")
    settings = current_state().settings
    practitioner = context.practitioner or settings.default_practitioner
    if practitioner and read_resource(session, "Practitioner", practitioner) is None:
        raise LaunchRefused(f"The launch's practitioner {practitioner} is not in the EHR")
    scopes = set(scope_list(scope))
    ehr = "launch" in scopes
    return AuthorizedUser(
        subject=f"Practitioner/{practitioner}" if practitioner else EHR_USER_WITHOUT_RECORD,
        fhir_user=f"{settings.fhir_base}/Practitioner/{practitioner}" if practitioner else None,
        patient=context.patient if ehr or "launch/patient" in scopes else None,
        encounter=context.encounter if ehr or "launch/encounter" in scopes else None,
        need_patient_banner=context.need_patient_banner if ehr else None,
        smart_style_url=context.smart_style_url if ehr else None,
    )


def standalone_user(patient_id: str, scope: str) -> AuthorizedUser:
    """A signed-in portal patient; their own record is the patient context."""
    fhir_base = current_state().settings.fhir_base
    chosen = "launch/patient" in scope_list(scope)
    return AuthorizedUser(
        subject=f"Patient/{patient_id}",
        fhir_user=f"{fhir_base}/Patient/{patient_id}",
        patient=patient_id if chosen else None,
        # A standalone app has no EHR chrome around it, so it shows its own banner.
        need_patient_banner=True if chosen else None,
    )


def patient_exists(session: Session, patient_id: str) -> bool:
    """True when the patient is in the sandbox."""
    return read_resource(session, "Patient", patient_id) is not None


def patient_choices(session: Session) -> list[PatientChoice]:
    """Every sandbox patient, labelled by name and birth date."""
    return [
        PatientChoice(id=p["id"], label=patient_label(p))
        for p in list_resources(session, "Patient")
    ]


def patient_label(patient: dict[str, Any]) -> str:
    """A human label for a Patient resource: name and birth date, else its id."""
    names = patient.get("name") or [{}]
    name = names[0]
    text = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")]).strip()
    birth = patient.get("birthDate")
    label = text or f"Patient {patient.get('id')}"
    return f"{label} (born {birth})" if birth else label


def describe_scope(scope: str) -> str:
    """A plain-language line for the consent page."""
    if scope in _FIXED_SCOPES:
        return _FIXED_SCOPES[scope]
    parsed = parse_resource_scope(scope)
    if parsed is None:
        return scope
    verbs = [v for letter, v in _INTERACTIONS.items() if letter in parsed.letters]
    what = "all data" if parsed.resource_type == "*" else _words(parsed.resource_type)
    whose = {"patient": "of this patient", "user": "you can see", "system": "in the EHR"}
    return f"{', '.join(verbs).capitalize()} {what} {whose[parsed.context]}"


def _words(resource_type: str) -> str:
    # "MedicationRequest" -> "medication request records"
    return re.sub(r"(?<!^)([A-Z])", r" \1", resource_type).lower() + " records"
