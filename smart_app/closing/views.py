"""Closing the visit's API: the form as typed, finishing the plan, its write-back status,
the private reflection.

Bound to one launch by its URL, as the visit's API is (docs/openapi.yaml).
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request

from smart_app.closing.finishing import Closing
from smart_app.core.registry import service
from smart_app.session.binding import LAUNCH_PREFIX, bind_to_launch
from smart_app.session.roles import require_clinician_with_patient

bp = Blueprint(
    "closing",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/closing",
)
bind_to_launch(bp, check_user=require_clinician_with_patient)


@bp.post(f"{LAUNCH_PREFIX}/api/visit/plan")
def api_finish_plan() -> tuple[Response, int]:
    """Finish the visit: 409 listing open patient/family items, else 202 and write-back."""
    closing = service(Closing)
    status = closing.finish(g.launch, request.get_json(silent=True))
    return jsonify(status.to_json(closing.clinic_zone)), 202


@bp.put(f"{LAUNCH_PREFIX}/api/visit/plan/form")
def api_plan_form() -> tuple[Response, int]:
    """Keep the closing form as typed (a reload restores it); never written to the chart."""
    kept, replaced = service(Closing).save_form(g.launch, request.get_json(silent=True))
    return jsonify({"plan_form": kept, "replaced": replaced}), 200


@bp.get(f"{LAUNCH_PREFIX}/api/visit/writeback")
def api_writeback() -> tuple[Response, int]:
    """What of the plan is saved to the chart (with ids), pending, or failed (and why)."""
    closing = service(Closing)
    status = closing.writeback(g.launch)
    if status is None:
        body = {
            "error": "no_plan",
            "message": "No plan was finished for this visit yet.",
            "advice": "Finish the plan first; its write-back status shows here after.",
        }
        return jsonify(body), 404
    return jsonify(status.to_json(closing.clinic_zone)), 200


@bp.put(f"{LAUNCH_PREFIX}/api/visit/reflection")
def api_reflection() -> tuple[Response, int]:
    """The clinician's private reflection: kept for them, never written to the chart."""
    kept = service(Closing).save_reflection(g.launch, request.get_json(silent=True))
    return jsonify({"reflection": kept, "private": True}), 200
