"""What a launch may do, from its signed-in user (`fhirUser`).

SMART App Launch 2.2 names the user in the id_token's `fhirUser` claim
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-identity-data).
A Practitioner or PractitionerRole gets the clinician's visit; a Patient or RelatedPerson
(a parent) never reaches it; a launch without `fhirUser` gets neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from launch.context import LaunchContext
from launch.errors import LaunchError
from smart_app.session.handover import ENDED, TABLET

if TYPE_CHECKING:
    from smart_app.session.launches import OpenLaunch

Role = Literal["clinician", "patient", "family"]

ROLE_OF_USER_TYPE: dict[str, Role] = {
    "Practitioner": "clinician",
    "PractitionerRole": "clinician",
    "Patient": "patient",
    "RelatedPerson": "family",
}


class UserUnknown(LaunchError):
    """The EHR did not say who signed in (no `fhirUser`), so Flip cannot tell what to show."""

    advice = (
        "Ask your administrator to let Flip request the `openid fhirUser` scopes "
        "(and the EHR to grant them), then open Flip again."
    )


class NotForThisUser(LaunchError):
    """A patient or parent reached a part of Flip that is for the care team."""

    advice = (
        "This part of Flip is for your care team. Nothing you did is lost. At your visit, "
        "your care team will ask about your number one concern."
    )


def role_of(context: LaunchContext) -> Role:
    """The role of the launch's signed-in user; UserUnknown without a usable `fhirUser`."""
    role = ROLE_OF_USER_TYPE.get(context.user_type or "")
    if role is None:
        raise UserUnknown(
            "The EHR did not say who is signed in (no fhirUser for a Practitioner, "
            "Patient or RelatedPerson)."
        )
    return role


class HandedToPatient(LaunchError):
    """The launch was handed to the patient on the tablet: the visit stays out of reach.
    Its page speaks to the patient, in their language (smart_app/errors.py)."""


class HandedBack(LaunchError):
    """The tablet's turn is over: the launch shows nothing more (in the patient's words)."""


def require_clinician(opened: OpenLaunch) -> None:
    """Refuse a launch whose signed-in user is not a clinician, or one handed to the patient."""
    if opened.handover == ENDED:
        raise HandedBack("The answers on this tablet are done.")
    if opened.handover == TABLET:
        raise HandedToPatient("This Flip was handed to the patient.")
    if role_of(opened.context) != "clinician":
        raise NotForThisUser("This page is for the care team only.")


class ForPatientsAndFamilies(LaunchError):
    """A clinician reached the pre-visit form, which is for the patient and their family."""

    advice = (
        "The pre-visit form is for the patient and their family: open the visit from the "
        "patient's chart instead."
    )


def require_patient_or_family(opened: OpenLaunch) -> None:
    """Refuse a launch that is not the patient's or a related person's, nor handed to them
    on the tablet."""
    if opened.handover == ENDED:
        raise HandedBack("The answers on this tablet are done.")
    if role_of(opened.context) == "clinician" and opened.handover != TABLET:
        raise ForPatientsAndFamilies("This form is for the patient and their family.")


class NoPatientChosen(LaunchError):
    """A launch from the schedule (no patient) reached a page about one patient."""

    advice = "Open the patient's chart in the EHR, and open Flip from there."


class OtherPatient(LaunchError):
    """A launch from one patient's chart asked for another patient."""

    advice = "Open that patient's chart in the EHR, and open Flip from there."


def require_clinician_with_patient(opened: OpenLaunch) -> None:
    """Refuse what require_clinician refuses, and a launch without a patient."""
    require_clinician(opened)
    if not opened.context.patient:
        raise NoPatientChosen("This Flip was opened from the schedule, with no patient.")


def landing_endpoint(context: LaunchContext) -> str:
    """Where a completed launch lands: the pre-visit form for a patient or parent, the
    clinic-day panel for a clinician's launch without a patient, else the clinician's
    visit (which explains a missing `fhirUser` itself)."""
    try:
        role = role_of(context)
    except UserUnknown:
        return "visit.page"
    if role in ("patient", "family"):
        return "previsit.form"
    return "visit.page" if context.patient else "team.panel"
