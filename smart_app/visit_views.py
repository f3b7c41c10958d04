"""The visit page and its JSON API, each bound to exactly one launch by its URL.

`{base}` below is `/l/<launch id>/api`, given to the page in `<meta name="flip-api-base">`;
every API call must carry the page's `X-Flip-Launch` secret (docs/openapi.yaml).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, g, jsonify, render_template, request, url_for

from fhir_mappings.questionnaire import LEARNING_PREFERENCES_DISPLAY, PARTNERING_STYLES
from smart_app import agenda_api, closing
from smart_app.drafts import with_added, with_order_and_statuses
from smart_app.launch_views import BROWSER_COOKIE
from smart_app.launches import LaunchNotFound
from smart_app.plan import SOMETHING_ELSE
from smart_app.services import services

bp = Blueprint("visit", __name__, url_prefix="/l/<launch_id>")

API_TOKEN_HEADER = "X-Flip-Launch"  # noqa: S105 (a header name)


@bp.url_value_preprocessor
def _open_launch(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    launch_id = (values or {}).pop("launch_id", "")
    g.launch = services().launches.open(launch_id, browser_id=request.cookies.get(BROWSER_COOKIE))
    if request.blueprint == "visit" and "/api" in request.path:
        _check_api_token()


@bp.url_defaults
def _keep_launch_id(_endpoint: str, values: dict[str, Any]) -> None:
    if "launch_id" not in values and "launch" in g:
        values["launch_id"] = g.launch.launch_id


@bp.get("/visit")
def page() -> str:
    """The visit page: the number-one concern, the partnering preference, the agenda."""
    reader = services().visit_reader(g.launch)
    visit = reader.load()
    writeback = closing.writeback_status(reader, services().outbox)
    return render_template(
        "visit.html",
        visit=visit,
        writeback=writeback.to_json() if writeback else None,
        api_base=url_for("visit.api_root"),
        api_token=services().vault.api_token(g.launch.launch_id),
        something_else=SOMETHING_ELSE,
        partnering_styles=PARTNERING_STYLES,
        learning_preferences=LEARNING_PREFERENCES_DISPLAY,
        reflection_questions=closing.REFLECTION_QUESTIONS,
    )


@bp.get("/style.css")
def ehr_style() -> Response:
    """The EHR's SMART style as CSS (empty when it has none Flip may use)."""
    style_url = g.launch.context.smart_style_url
    css = services().styles.css(style_url, g.launch.context.iss) if style_url else ""
    return Response(css, mimetype="text/css")


@bp.get("/api")
def api_root() -> Response:
    """The API base: links to what it offers."""
    return jsonify({"visit": url_for("visit.api_visit")})


@bp.get("/api/visit")
def api_visit() -> Response:
    """The visit as JSON: patient, encounter, agenda, partnering preference, draft."""
    return jsonify(agenda_api.visit_json(services().visit_reader(g.launch).load()))


@bp.put("/api/visit/agenda")
def api_save_agenda() -> tuple[Response, int]:
    """Save the agenda's order and statuses."""
    # Ids are checked for shape only: saving must not cost a round trip to the EHR, and
    # an id the agenda no longer has is simply ignored when the agenda is built.
    order, statuses = agenda_api.parse_agenda_update(request.get_json(silent=True))
    reader = services().visit_reader(g.launch)
    saved = services().drafts.change(
        reader.draft_key(), lambda draft: with_order_and_statuses(draft, order, statuses)
    )
    return jsonify(agenda_api.draft_json(saved)), 200


@bp.post("/api/visit/agenda/items")
def api_add_item() -> tuple[Response, int]:
    """Add an item to the agenda (the clinician may add at any time)."""
    text, source = agenda_api.parse_new_item(request.get_json(silent=True))
    reader = services().visit_reader(g.launch)
    added: list[Any] = []

    def add(draft: Any) -> Any:
        changed, item = with_added(draft, text, source)
        added.append(item)
        return changed

    saved = services().drafts.change(reader.draft_key(), add)
    return jsonify(
        {"item": agenda_api.added_json(added[0]), "draft": agenda_api.draft_json(saved)}
    ), 201


@bp.post("/api/visit/agenda/merge")
def api_merge() -> tuple[Response, int]:
    """Show a clinician item once, at a patient or family item's place."""
    reader = services().visit_reader(g.launch)
    item, into = agenda_api.parse_merge(request.get_json(silent=True), reader.load().agenda)
    saved = services().drafts.change(reader.draft_key(), lambda d: agenda_api.merged(d, item, into))
    return jsonify(agenda_api.draft_json(saved)), 200


@bp.post("/api/visit/agenda/split")
def api_split() -> tuple[Response, int]:
    """Show a merged clinician item on its own line again."""
    reader = services().visit_reader(g.launch)
    item = agenda_api.parse_split(request.get_json(silent=True), reader.load().agenda)
    saved = services().drafts.change(reader.draft_key(), lambda d: agenda_api.split(d, item))
    return jsonify(agenda_api.draft_json(saved)), 200


class ApiTokenMissing(LaunchNotFound):
    """An API call without this launch's X-Flip-Launch secret."""

    advice = "Reload Flip from the chart; API calls need the page's X-Flip-Launch header."


def _check_api_token() -> None:
    token = request.headers.get(API_TOKEN_HEADER)
    if not services().vault.check_api_token(g.launch.launch_id, token):
        raise ApiTokenMissing("missing or wrong X-Flip-Launch header")


@bp.post("/api/visit/plan")
def api_finish_plan() -> tuple[Response, int]:
    """Finish the visit: 409 listing open patient/family items, else 202 and write-back."""
    status = closing.finish_visit(
        services().visit_reader(g.launch),
        services().drafts,
        services().outbox,
        g.launch,
        request.get_json(silent=True),
    )
    return jsonify(status.to_json()), 202


@bp.get("/api/visit/writeback")
def api_writeback() -> tuple[Response, int]:
    """What of the plan is saved to the chart (with ids), pending, or failed (and why)."""
    status = closing.writeback_status(services().visit_reader(g.launch), services().outbox)
    if status is None:
        body = {"error": "no_plan", "message": "No plan was finished for this visit yet."}
        return jsonify(body), 404
    return jsonify(status.to_json()), 200


@bp.put("/api/visit/reflection")
def api_reflection() -> tuple[Response, int]:
    """The clinician's private reflection: kept for them, never written to the chart."""
    reader = services().visit_reader(g.launch)
    kept = closing.save_reflection(reader, services().drafts, request.get_json(silent=True))
    return jsonify({"reflection": kept, "private": True}), 200


@bp.get("/partnering")
def partnering() -> str:
    """The patient's partnering notes and preferences over time, newest first."""
    patient, history = services().visit_reader(g.launch).partnering_history()
    return render_template("partnering.html", patient=patient, history=history)
