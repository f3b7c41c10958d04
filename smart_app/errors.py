"""The one place that turns failures into a page a clinician understands, or JSON.

Each page says what happened and what to do; never a stack trace. Logs carry the error's
class and status, never tokens or patient data.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from flask import (
    Flask,
    Response,
    current_app,
    g,
    has_request_context,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from launch.errors import (
    AuthorizationDenied,
    DiscoveryFailed,
    IdTokenInvalid,
    LaunchError,
    StateExpired,
    StateMismatch,
    TokenExchangeFailed,
    UnknownIssuer,
)
from launch.fhir_errors import (
    FhirError,
    FhirForbidden,
    FhirTemporaryError,
    FhirUnauthorized,
    error_kind,
)
from smart_app.closing.plan import OpenItemsRemain
from smart_app.core.validation import InvalidRequest
from smart_app.core.vault import SealBroken
from smart_app.previsit.language import form_language
from smart_app.session.binding import is_api_request
from smart_app.session.launches import LaunchNotFound, LaunchNotProven
from smart_app.session.roles import (
    ForPatientsAndFamilies,
    HandedBack,
    HandedToPatient,
    NoPatientChosen,
    NotForThisUser,
    OtherPatient,
    UserUnknown,
    landing_endpoint,
)

log = logging.getLogger(__name__)

RELAUNCH = "Close Flip and open it again from the patient's chart."


@dataclass(frozen=True, slots=True)
class Failure:
    """What the clinician reads: a title, what happened, what to do."""

    status: int
    code: str
    title: str
    happened: str
    advice: str
    details: dict[str, object] | None = None
    lang: str = "en"  # a patient's or parent's failure is in their form's language
    link: tuple[str, str] | None = None  # where to go now: (address, words)


def describe(error: Exception) -> Failure:
    """The description of a launch or FHIR failure: for a clinician, unless a patient or
    parent meets it (`_for_patients`)."""
    for_patients = _for_patients(error)
    if for_patients is not None:
        return for_patients
    if isinstance(error, UnknownIssuer):
        return Failure(400, "unknown_iss", "Flip doesn't know this EHR", str(error), error.advice)
    if isinstance(error, DiscoveryFailed):
        return Failure(
            502, "discovery_failed", "Flip couldn't reach the EHR", str(error), error.advice
        )
    if isinstance(error, AuthorizationDenied):
        title = (
            "Flip wasn't allowed to open"
            if error.error == "access_denied"
            else ("The EHR refused to sign Flip in")
        )
        return Failure(403, error.error, title, str(error), error.advice)
    if isinstance(error, StateExpired):
        return Failure(400, "launch_expired", "This launch took too long", str(error), RELAUNCH)
    if isinstance(error, StateMismatch):
        return Failure(
            400,
            "state_mismatch",
            "This sign-in doesn't belong to this window",
            "The sign-in was already used, or was started in another browser or tab.",
            RELAUNCH,
        )
    if isinstance(error, TokenExchangeFailed | IdTokenInvalid):
        return Failure(
            502,
            "token_failed",
            "The EHR didn't complete the sign-in",
            str(error),
            "Open Flip again from the chart. If it keeps failing, tell your administrator "
            "Flip's registration with this EHR (client id, secret or key) needs checking.",
        )
    if isinstance(error, OpenItemsRemain):
        return Failure(
            409,
            "open_items",
            "Some of the patient's and family's items are still open",
            "; ".join(f"{i.source}: {i.text[:80]}" for i in error.items),
            "Mark each one addressed, or deferred with a short reason, then finish the plan.",
            {"open_items": [{"id": i.id, "text": i.text, "source": i.source} for i in error.items]},
        )
    if isinstance(error, UserUnknown):
        return Failure(
            403, "fhir_user_missing", "Flip can't tell who is signed in", str(error), error.advice
        )
    if isinstance(error, NotForThisUser):
        return Failure(
            403, "care_team_only", "This part of Flip is for your care team", str(error),
            error.advice,
        )  # fmt: skip
    if isinstance(error, OtherPatient):
        return Failure(
            403, "other_patient", "This Flip is for another patient", str(error), error.advice
        )
    if isinstance(error, NoPatientChosen):
        return Failure(
            409, "no_patient", "Flip was opened without a patient", str(error), error.advice
        )
    if isinstance(error, ForPatientsAndFamilies):
        return Failure(
            403, "patients_and_families_only", "This form is for the patient and family",
            str(error), error.advice,
        )  # fmt: skip
    if isinstance(error, InvalidRequest):
        return Failure(400, "invalid_request", "Flip couldn't use that", str(error), str(error))
    if isinstance(error, LaunchNotProven):
        return Failure(
            403, "launch_other_browser", "Flip is open in another browser or tab", str(error),
            error.advice,
        )  # fmt: skip
    if isinstance(error, LaunchNotFound):
        return Failure(401, "launch_ended", "This Flip session has ended", str(error), error.advice)
    if isinstance(error, SealBroken):
        # Sealed under a key no longer configured (a dropped key, a lost development key).
        return Failure(
            401,
            "saved_data_unreadable",
            "Flip could not open this session",
            "Flip could not open what it saved for this session: it was locked with a key "
            "Flip no longer has.",
            RELAUNCH,
        )
    if isinstance(error, FhirUnauthorized):
        return Failure(
            401, "ehr_session_ended", "The EHR ended Flip's access", str(error), RELAUNCH
        )
    if isinstance(error, FhirForbidden):
        return Failure(
            403,
            "ehr_forbidden",
            "The EHR didn't allow Flip to read this",
            str(error),
            "Tell your administrator which data Flip was refused: its scopes may need changing.",
        )
    if isinstance(error, FhirTemporaryError):
        return Failure(
            503,
            "ehr_unavailable",
            "The EHR isn't answering right now",
            # In the clinician's words: what Flip met ("HTTP 503", "timeout"), not its request.
            f"Flip asked the EHR for the chart and got no answer it could use "
            f"({error_kind(error)}). The EHR may be busy or down for maintenance.",
            "Nothing you entered is lost. Wait a moment and reload.",
        )
    if isinstance(error, FhirError):
        return Failure(502, "ehr_error", "The EHR returned an error", str(error), RELAUNCH)
    return Failure(
        500, "internal", "Something went wrong in Flip", "An unexpected error.", RELAUNCH
    )


# Failures `describe` explains for whoever meets them (a clinician's on the form: theirs).
EXPLAINED = (LaunchError, FhirError, HTTPException, InvalidRequest, OpenItemsRemain, SealBroken)


def _for_patients(error: Exception) -> Failure | None:
    """The failure in a patient's or parent's words and language, where they meet it: back
    from their portal's sign-in, or on the pre-visit form's pages. Never "the chart"."""
    # A standalone launch is how a patient's portal opens Flip (a clinician's comes from
    # the EHR, with `launch`).
    from_portal = isinstance(error, AuthorizationDenied | StateExpired) and error.standalone
    # A tablet handed to the patient: whoever is in front of it is the patient or family,
    # on whichever of the launch's pages Back or an address took them.
    on_tablet = isinstance(error, HandedToPatient | HandedBack)
    if not (from_portal or on_tablet or _on_patient_page() or _portal_launch()):
        return None
    lang = form_language()
    with force_locale(lang):
        restart = _(
            "Go back to your patient portal and open the questions for your visit again. "
            "Answers you already sent are saved."
        )
        if isinstance(error, AuthorizationDenied) and error.error == "access_denied":
            failure = Failure(
                403, error.error, _("You chose not to share your record"),
                _("So the questions for your visit did not open, and nothing was sent."),
                _("To answer them, go back to your patient portal, open the questions again "
                  "and allow access."),
            )  # fmt: skip
        elif isinstance(error, StateExpired):
            failure = Failure(
                400, "launch_expired", _("Your sign-in took too long"),
                _("To keep your record safe, signing in must finish within a few minutes. "
                  "Nothing was sent."),
                restart,
            )  # fmt: skip
        elif isinstance(error, AuthorizationDenied):
            failure = Failure(
                403, error.error, _("Your clinic's system could not open the questions"),
                _("Nothing was sent."), restart,
            )  # fmt: skip
        elif isinstance(error, HandedToPatient):
            failure = Failure(
                403, "handed_to_patient", _("This tablet is for your answers"),
                _("The care team's pages stay closed while the tablet is with you."),
                _("Go back to the questions. When everyone is done, hand the tablet back "
                  "to your care team."),
                link=_back_to_questions(lang),
            )  # fmt: skip
        elif isinstance(error, HandedBack):
            failure = Failure(
                403, "handed_back", _("Thank you, please hand the tablet back"),
                _("The answers on this tablet are done; your care team will see them at "
                  "the visit."),
                _("Please hand the tablet back to your care team."),
            )  # fmt: skip
        elif isinstance(error, LaunchNotProven):
            failure = Failure(
                403, "launch_other_browser", _("This page is open in another browser"),
                _("To keep your answers safe, the questions open only in the browser or tab "
                  "where you signed in."),
                restart,
            )  # fmt: skip
        elif isinstance(error, LaunchNotFound):
            failure = Failure(
                401, "launch_ended", _("This page has expired"),
                _("You were away for a while, so this page closed to keep your answers safe."),
                restart,
            )  # fmt: skip
        elif isinstance(error, FhirTemporaryError):
            failure = Failure(
                503, "ehr_unavailable", _("Your clinic's system isn't answering right now"),
                _("Nothing you typed is lost."), _("Wait a moment, then reload this page."),
            )  # fmt: skip
        elif isinstance(error, HTTPException) and error.code == 429:
            failure = Failure(
                429, "rate_limited", _("Too many people are signing in at once"),
                _("Flip received too many sign-ins from your network in a short time."),
                _("Wait a minute, then open the questions again from your patient portal."),
            )  # fmt: skip
        elif isinstance(error, HTTPException) and error.code == 413:
            failure = Failure(
                413, "request_too_large", _("That was more than Flip takes at once"),
                _("Nothing of it was saved."), _("Shorten what you typed and send it again."),
            )  # fmt: skip
        elif isinstance(error, FhirError):
            failure = Failure(
                502, "ehr_error", _("Your clinic's system could not open the questions"),
                _("Flip could not read what it needs from your clinic's system."), restart,
            )  # fmt: skip
        elif not isinstance(error, EXPLAINED):
            # A failure of Flip's own (a bug): never the clinician's words, nor a trace.
            failure = Failure(
                500, "internal", _("Something went wrong in Flip"),
                _("Answers you already sent are saved."),
                _("Wait a moment, then reload this page. If it happens again, go back to "
                  "your patient portal and open the questions again."),
            )  # fmt: skip
        else:
            return None
    return replace(failure, lang=lang)


def _back_to_questions(lang: str) -> tuple[str, str] | None:
    opened = g.get("launch") if has_request_context() else None  # session/binding.py
    if opened is None:
        return None
    address = url_for("previsit.form", launch_id=opened.launch_id, lang=lang)
    return address, _("Back to the questions")


def _portal_launch() -> bool:
    return (
        has_request_context()
        and request.endpoint == "session.start"
        and ("launch" not in request.args)
    )


def _on_patient_page() -> bool:
    # The pre-visit form's pages are the patient's and family's (smart_app/previsit/).
    return has_request_context() and request.blueprint == "previsit"


def init_app(app: Flask) -> None:
    """Register the handlers."""
    app.register_error_handler(LaunchError, _handle)
    app.register_error_handler(FhirError, _handle)
    app.register_error_handler(InvalidRequest, _handle)
    app.register_error_handler(OpenItemsRemain, _handle)
    app.register_error_handler(SealBroken, _handle)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)


def _handle(error: Exception) -> tuple[Response | str, int]:
    failure = describe(error)
    log.info("request failed: %s (%s, HTTP %d)", failure.code, type(error).__name__, failure.status)
    return _render(failure)


def _handle_http(error: HTTPException) -> tuple[Response | str, int]:
    status = error.code or 500
    for_patients = _for_patients(error)
    if for_patients is not None:
        return _render(for_patients)
    if status == 413:  # over MAX_CONTENT_LENGTH (FLIP_MAX_REQUEST_BYTES), refused unread
        return _render(_too_large())
    if status == 429:  # flask-limiter: too many launches from one address
        return _render(
            Failure(
                429,
                "rate_limited",
                "Too many launches at once",
                "Flip received too many launches from this network in a short time.",
                "Wait a minute, then open Flip again from the patient's chart.",
            )
        )
    return _render(Failure(status, "http_error", error.name, error.description or "", RELAUNCH))


def _too_large() -> Failure:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    size = f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} KB"
    return Failure(
        413,
        "request_too_large",
        "That was more than Flip takes at once",
        f"The request is larger than Flip accepts ({size}); nothing of it was saved.",
        "Shorten what you typed, or send it in parts, and try again.",
    )


def _handle_unexpected(error: Exception) -> tuple[Response | str, int]:
    log.exception("unexpected error (%s)", type(error).__name__)
    return _render(describe(error))


def _render(failure: Failure) -> tuple[Response | str, int]:
    if is_api_request() or request.accept_mimetypes.best == "application/json":
        body = {
            "error": failure.code,
            "message": failure.happened,
            "advice": failure.advice,
            **(failure.details or {}),
        }
        return jsonify(body), failure.status
    failure = _way_back(failure)
    with force_locale(failure.lang):
        page = render_template("error.html", failure=failure, page_lang=failure.lang)
    return page, failure.status


def _way_back(failure: Failure) -> Failure:
    """On another page of a clinician's launch (the clinic day, partnering notes), a link to
    where the launch landed: a frame in the EHR's sidebar shows no Back button."""
    opened = g.get("launch")
    landing = landing_endpoint(opened.context) if opened and not failure.link else None
    words = {"visit.page": "Back to the visit", "team.panel": "Back to the clinic day"}
    if landing not in words or request.endpoint == landing:
        return failure
    return replace(failure, link=(url_for(landing, launch_id=opened.launch_id), words[landing]))
