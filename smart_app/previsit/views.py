"""The pre-visit form of a patient or parent launch, or of a launch handed to the patient
on the clinic's tablet: `/l/<launch id>/previsit`.

It works without JavaScript: a plain form post, redirected to the form saying what
happened to the answers (or answered with what to fix). A clinician's own launch is
refused here (roles.py).
"""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fhir_mappings.previsit_form import MAX_CONCERN_CHARS, MAX_OTHER_CONCERNS
from smart_app.core.registry import service
from smart_app.previsit.language import form_language, keep_choice
from smart_app.previsit.service import LATER, NOBODY, FormPage, PrevisitService
from smart_app.session.binding import LAUNCH_PREFIX, TAB_FIELD, bind_to_launch
from smart_app.session.roles import require_patient_or_family

bp = Blueprint(
    "previsit",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/previsit",
)
bind_to_launch(bp, check_user=require_patient_or_family)
bp.after_request(keep_choice)


# GET shows the form; POST too, for a tab that proves itself without a cookie (binding.py).
@bp.route(f"{LAUNCH_PREFIX}/previsit", methods=["GET", "POST"])
def form() -> str:
    """The form, with the person's own earlier answers to change."""
    page = service(PrevisitService).page(g.launch, form_language())
    return _render(replace(page, just_sent=request.args.get("sent") == "1"))


@bp.post(f"{LAUNCH_PREFIX}/previsit/answers")
def submit() -> Response | str | tuple[str, int]:
    """Keep and send the answers: 303 to the form saying what became of them (a reload or
    Back then never sends them again); 422 with what needs fixing."""
    posted = {name: request.form.getlist(name) for name in request.form if name != TAB_FIELD}
    lang = form_language()
    page = service(PrevisitService).submit(g.launch, posted, lang)
    if page is None:
        # `sent`: the typing this tab kept is now sent (previsit.js forgets it).
        return redirect(url_for("previsit.form", lang=lang, sent="1"), 303)
    # To fix; or the tablet asking who answers next (a reload there sends nothing).
    return (_render(page), 422) if page.errors else _render(page)


@bp.post(f"{LAUNCH_PREFIX}/previsit/turn")
def take_turn() -> Response:
    """On the tablet: the person who answers next."""
    service(PrevisitService).take_turn(g.launch, request.form.get("who", ""))
    return redirect(url_for("previsit.form", lang=form_language()), 303)


@bp.post(f"{LAUNCH_PREFIX}/previsit/hand-back")
def hand_back() -> str:
    """On the tablet: everyone is done; the screen asks for the tablet back, for good."""
    service(PrevisitService).hand_back(g.launch)
    return render_template("previsit/handed_back.html", page_lang=form_language())


def _render(page: FormPage) -> str:
    return render_template(
        "previsit/form.html",
        page=page,
        # A send answered in place (to fix, or the tablet's next turn): the address bar
        # shows the form's address (flip-tab.js), so a reload asks for the form. Without
        # `sent`: a reload keeps the typing since.
        page_url=url_for("previsit.form", lang=page.lang if "lang" in request.values else None),
        page_lang=page.lang,
        max_chars=MAX_CONCERN_CHARS,
        max_others=MAX_OTHER_CONCERNS,
        # The tablet's answers to "who is answering": nobody yet ("Not you?"), the teen later.
        nobody=NOBODY,
        later=LATER,
    )
