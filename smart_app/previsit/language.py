"""Which language the pre-visit form speaks: the person's choice, else their browser's.

The "English | Español" links carry `?lang=`; the choice is also kept in a cookie of the
launch's own pages, so the pages a link does not lead to (the clinic's tablet after Back)
speak it too. Without either the form follows Accept-Language. Only the form's pages are
translated (flask-babel): the clinician's pages stay in the clinic's language.
"""

from __future__ import annotations

from flask import Response, g, request
from werkzeug.exceptions import RequestEntityTooLarge

LANGUAGES = ("en", "es")
DEFAULT = "en"
COOKIE = "flip_lang"
KEPT_S = 12 * 3600  # as long as a launch


def form_language() -> str:
    """The language of this request's form: `?lang=`, else the launch's kept choice, else
    Accept-Language, else English."""
    for choice in (_chosen(), request.cookies.get(COOKIE)):
        if choice in LANGUAGES:
            return choice
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def _chosen() -> str | None:
    try:
        return request.values.get("lang")
    except RequestEntityTooLarge:  # a body refused unread: its `lang` with it
        return request.args.get("lang")


def keep_choice(response: Response) -> Response:
    """After a form page asked in a chosen language: keep the choice for this launch's
    pages only (the next launch on a shared tablet starts from its browser's language)."""
    chosen = _chosen()
    opened = g.get("launch")  # the launch this request proved (session/binding.py)
    if chosen in LANGUAGES and opened and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=KEPT_S,
            path=f"{request.script_root}/l/{opened.launch_id}/",
            secure=True,
            httponly=True,
            samesite="None",  # sent inside the EHR's cross-site frame
            partitioned=True,
        )
    return response


def locale_selector() -> str:
    """flask-babel's locale: the form's language on the form's pages and on a portal's
    launch page (standalone: no `launch` from an EHR), else English."""
    portal_launch = request.endpoint == "session.start" and "launch" not in request.args
    return form_language() if request.blueprint == "previsit" or portal_launch else DEFAULT
