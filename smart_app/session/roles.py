"""What a launch may do, from its signed-in user (`fhirUser`).

SMART App Launch 2.2 names the user in the id_token's `fhirUser` claim
(https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html#scopes-for-requesting-identity-data).
A Practitioner or PractitionerRole gets the clinician's visit; a Patient or RelatedPerson
(a parent) never reaches it; a launch without `fhirUser` gets neither.
"""

from __future__ import annotations

from typing import Literal

from launch.context import LaunchContext
from launch.errors import LaunchError

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


def require_clinician(context: LaunchContext) -> None:
    """Refuse a launch whose signed-in user is not a clinician."""
    if role_of(context) != "clinician":
        raise NotForThisUser("This page is for the care team only.")
