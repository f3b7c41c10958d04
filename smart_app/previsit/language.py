"""Which language the pre-visit form speaks: the person's choice, else their browser's.

The "English | Español" links carry `?lang=`; without it the form follows Accept-Language.
Only the form's pages are translated (flask-babel): the clinician's pages stay in the
clinic's language.
"""

from __future__ import annotations

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge

LANGUAGES = ("en", "es")
DEFAULT = "en"


def form_language() -> str:
    """The language of this request's form: `?lang=`, else Accept-Language, else English."""
    try:
        chosen = request.values.get("lang")
    except RequestEntityTooLarge:  # a body refused unread: its `lang` with it
        chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT


def locale_selector() -> str:
    """flask-babel's locale: the form's language on the form's pages and on a portal's
    launch page (standalone: no `launch` from an EHR), else English."""
    portal_launch = request.endpoint == "session.start" and "launch" not in request.args
    return form_language() if request.blueprint == "previsit" or portal_launch else DEFAULT
