"""Who approves an authorization: the EHR launch's practitioner, or a portal user.

An EHR launch is pre-authorized: the clinician is already signed in to the EHR, so the
launch's practitioner (or settings.default_practitioner) approves without a page. A
standalone launch signs a portal user in (no password) and asks for consent. A portal
user is a Patient, or a RelatedPerson (a parent) acting as proxy for the Patient named in
RelatedPerson.patient (https://hl7.org/fhir/R4/relatedperson.html); either way the
patient context is that Patient.
Launch context goes to the app only for the scopes that ask for it
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-context-data).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ehr_sandbox.access import PROXY_USER_TYPE, parse_resource_scope
from ehr_sandbox.auth.grants import AuthorizedUser
from ehr_sandbox.auth.models import scope_list
from ehr_sandbox.fhir.resources import patient_of_reference
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
# v3-RoleCode family relationships of the demo and common portals, as a person says them.
_RELATIONSHIPS = {
    "MTH": "mother",
    "FTH": "father",
    "PRN": "parent",
    "GRMTH": "grandmother",
    "GRFTH": "grandfather",
    "GUARD": "guardian",
    "STPPRN": "step-parent",
}


class LaunchRefused(Exception):
    """An EHR launch that cannot be authorized; the message tells the app why."""


@dataclass(frozen=True, slots=True)
class PortalUser:
    """Someone who signs in to the portal: a Patient, or a RelatedPerson acting for one."""

    reference: str  # "Patient/ID" or "RelatedPerson/ID": what fhirUser names
    patient: str  # the id of the Patient whose record they reach
    label: str

    @property
    def id(self) -> str:
        """The id of the Patient or RelatedPerson."""
        return self.reference.partition("/")[2]

    @property
    def is_proxy(self) -> bool:
        """True for a RelatedPerson signed in for someone else's record."""
        return self.reference.startswith(f"{PROXY_USER_TYPE}/")


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


def standalone_user(user: PortalUser, scope: str) -> AuthorizedUser:
    """A signed-in portal user; the record they reach is the patient context."""
    fhir_base = current_state().settings.fhir_base
    chosen = "launch/patient" in scope_list(scope)
    return AuthorizedUser(
        subject=user.reference,
        # Absolute, like the Practitioner's: SMART 2.2 sso-openid-connect fhirUser.
        fhir_user=f"{fhir_base}/{user.reference}",
        patient=user.patient if chosen else None,
        # A standalone app has no EHR chrome around it, so it shows its own banner.
        need_patient_banner=True if chosen else None,
    )


def find_portal_user(session: Session, reference: str) -> PortalUser | None:
    """The Patient, or active RelatedPerson of a stored Patient, named `Type/id`; else None."""
    resource_type, _, resource_id = reference.partition("/")
    if resource_type not in ("Patient", PROXY_USER_TYPE) or not resource_id:
        return None
    resource = read_resource(session, resource_type, resource_id)
    if resource is None:
        return None
    if resource_type == "Patient":
        return PortalUser(reference, resource_id, patient_label(resource))
    patient_id = patient_of_reference(resource.get("patient"))
    patient = None if patient_id is None else read_resource(session, "Patient", patient_id)
    # An inactive RelatedPerson no longer acts for the patient (RelatedPerson.active).
    if patient_id is None or patient is None or resource.get("active") is False:
        return None
    return PortalUser(reference, patient_id, proxy_label(resource, patient))


def portal_users(session: Session) -> list[PortalUser]:
    """Every patient, each followed by the RelatedPersons who may sign in for them."""
    proxies: dict[str, list[PortalUser]] = {}
    for person in list_resources(session, PROXY_USER_TYPE):
        user = find_portal_user(session, f"{PROXY_USER_TYPE}/{person['id']}")
        if user is not None:
            proxies.setdefault(user.patient, []).append(user)
    users = []
    for patient in list_resources(session, "Patient"):
        users.append(PortalUser(f"Patient/{patient['id']}", patient["id"], patient_label(patient)))
        users.extend(proxies.get(patient["id"], []))
    return users


def patient_label(patient: dict[str, Any]) -> str:
    """A human label for a Patient resource: name and birth date, else its id."""
    label = _name_text(patient.get("name")) or f"Patient {patient.get('id')}"
    birth = patient.get("birthDate")
    return f"{label} (born {birth})" if birth else label


def proxy_label(person: dict[str, Any], patient: dict[str, Any]) -> str:
    """`Name, mother of Child (born ...)` for a RelatedPerson acting for a patient."""
    name = _name_text(person.get("name")) or f"RelatedPerson {person.get('id')}"
    return f"{name}, {_relationship(person)} of {patient_label(patient)}"


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


def _name_text(names: Any) -> str:
    name = names[0] if isinstance(names, list) and names else {}
    text = name.get("text") or " ".join([*name.get("given", []), name.get("family", "")])
    return str(text).strip()


def _relationship(person: dict[str, Any]) -> str:
    for concept in person.get("relationship", []):
        if concept.get("text"):
            return str(concept["text"]).lower()
        for coding in concept.get("coding", []):
            if coding.get("code") in _RELATIONSHIPS:
                return _RELATIONSHIPS[coding["code"]]
            if coding.get("display"):
                return str(coding["display"]).lower()
    return "family member"
