"""The visit page and its agenda API, each bound to exactly one launch by its URL.

`{base}` below is `/l/<launch id>/api`, given to the page in `<meta name="flip-api-base">`;
every API call must carry the page's `X-Flip-Launch` secret (docs/openapi.yaml).
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from smart_app.core.registry import service
from smart_app.session import handover
from smart_app.session.binding import LAUNCH_PREFIX, bind_to_launch
from smart_app.session.roles import require_clinician_with_patient
from smart_app.visit import api
from smart_app.visit.editing import AgendaEditor
from smart_app.visit.page import VisitPage
from smart_app.visit.reader import VisitReaders

bp = Blueprint(
    "visit",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/visit",
)
bind_to_launch(bp, check_user=require_clinician_with_patient)


# Page routes take POST too: a tab whose frame keeps no cookie posts its binding to see the
# page (session/binding.py).
@bp.route(f"{LAUNCH_PREFIX}/visit", methods=["GET", "POST"])
def page() -> str:
    """The visit page: the number-one concern, the partnering preference, the agenda."""
    context = service(VisitPage).context(g.launch)
    return render_template("visit/visit.html", api_base=url_for("visit.api_root"), **context)


@bp.post(f"{LAUNCH_PREFIX}/hand-to-patient")
def hand_to_patient() -> BaseResponse:
    """At check-in: this screen becomes the patient's pre-visit form, and only that."""
    handover.hand_over(g.launch.launch_id)
    return redirect(url_for("previsit.form"), 303)


@bp.get(f"{LAUNCH_PREFIX}/api")
def api_root() -> Response:
    """The API base: links to what it offers."""
    return jsonify({"visit": url_for("visit.api_visit")})


@bp.get(f"{LAUNCH_PREFIX}/api/visit")
def api_visit() -> Response:
    """The visit as JSON: patient, encounter, agenda, partnering preference, draft."""
    return jsonify(api.visit_json(service(VisitReaders).for_launch(g.launch).load()))


@bp.put(f"{LAUNCH_PREFIX}/api/visit/agenda")
def api_save_agenda() -> tuple[Response, int]:
    """Save the agenda's order and statuses."""
    saved = service(AgendaEditor).save_order_and_statuses(g.launch, request.get_json(silent=True))
    return jsonify(api.draft_json(saved)), 200


@bp.post(f"{LAUNCH_PREFIX}/api/visit/agenda/items")
def api_add_item() -> tuple[Response, int]:
    """Add an item to the agenda (the clinician may add at any time)."""
    return jsonify(service(AgendaEditor).add_item(g.launch, request.get_json(silent=True))), 201


@bp.post(f"{LAUNCH_PREFIX}/api/visit/agenda/merge")
def api_merge() -> tuple[Response, int]:
    """Show a clinician item once, at a patient or family item's place."""
    saved = service(AgendaEditor).merge(g.launch, request.get_json(silent=True))
    return jsonify(api.draft_json(saved)), 200


@bp.post(f"{LAUNCH_PREFIX}/api/visit/agenda/split")
def api_split() -> tuple[Response, int]:
    """Show a merged clinician item on its own line again."""
    saved = service(AgendaEditor).split(g.launch, request.get_json(silent=True))
    return jsonify(api.draft_json(saved)), 200


@bp.route(f"{LAUNCH_PREFIX}/partnering", methods=["GET", "POST"])
def partnering() -> str:
    """The patient's partnering notes and preferences over time, newest first."""
    reader = service(VisitReaders).for_launch(g.launch)
    return render_template(
        "visit/partnering.html",
        history=reader.partnering_history(),
        zone=reader.clinic_zone,
        back_url=url_for("visit.page"),
        back_label="Back to the visit",
    )
