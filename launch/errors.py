"""Errors of the launch client, each one a caller can act on.

One root, `LaunchError`; the app turns each into a page that says what happened and what
to do. Messages never carry tokens or PHI.
"""

from __future__ import annotations


class LaunchError(Exception):
    """Root of every launch failure."""

    #: What the clinician can do about it (shown on the failure page).
    advice = "Close Flip and open it again from the patient's chart."


class UnknownIssuer(LaunchError):
    """The `iss` is missing or not a registered EHR: never redirect to it."""

    advice = (
        "Open Flip from your EHR. If this keeps happening, ask your administrator to "
        "register this EHR's FHIR base URL (iss) in Flip's registrations file."
    )


class DiscoveryFailed(LaunchError):
    """The EHR's `.well-known/smart-configuration` is unreachable or unusable."""

    advice = (
        "The EHR's SMART configuration could not be read. Try again in a minute; if it "
        "keeps failing, tell your administrator the EHR's SMART endpoint is not answering."
    )


class AuthorizationDenied(LaunchError):
    """The authorization server answered the redirect with an `error`."""

    def __init__(
        self, error: str, description: str | None = None, *, standalone: bool = False
    ) -> None:
        super().__init__(f"The EHR refused authorization: {error}" + _suffix(description))
        self.error = error
        self.description = description
        self.standalone = standalone  # the refused launch was a standalone one

    @property
    def advice(self) -> str:  # type: ignore[override]
        """Consent denied is the user's choice; other errors are configuration."""
        if self.error == "access_denied":
            return "Flip was not allowed to open. Open it again from the chart to retry."
        return (
            "Open Flip again from the chart. If it keeps failing, tell your administrator: "
            f"the EHR answered '{self.error}'."
        )


class StateMismatch(LaunchError):
    """The callback's `state` is unknown, already used, or from another browser."""


class StateExpired(LaunchError):
    """The launch took too long between authorize and callback."""

    def __init__(self, message: str, *, standalone: bool = False) -> None:
        super().__init__(message)
        self.standalone = standalone  # a portal's launch: told in the patient's words


class TokenExchangeFailed(LaunchError):
    """The token endpoint refused the code or the refresh token."""

    def __init__(self, error: str, description: str | None = None) -> None:
        super().__init__(f"The EHR did not issue a token: {error}" + _suffix(description))
        self.error = error
        self.description = description


class IdTokenInvalid(LaunchError):
    """The id_token failed validation (signature, iss, aud, exp or nonce)."""


def _suffix(description: str | None) -> str:
    return f" ({description})" if description else ""
