"""The visit page and its JSON API, each bound to exactly one launch by its URL."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, Response, g, jsonify, render_template, request, url_for

from smart_app.launch_views import BROWSER_COOKIE
from smart_app.launches import LaunchNotFound
from smart_app.services import services
from smart_app.visit import load_visit

bp = Blueprint("visit", __name__, url_prefix="/l/<launch_id>")

API_TOKEN_HEADER = "X-Flip-Launch"  # noqa: S105 (a header name)


@bp.url_value_preprocessor
def _open_launch(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    launch_id = (values or {}).pop("launch_id", "")
    g.launch = services().launches.open(launch_id, browser_id=request.cookies.get(BROWSER_COOKIE))


@bp.url_defaults
def _keep_launch_id(_endpoint: str, values: dict[str, Any]) -> None:
    if "launch_id" not in values and "launch" in g:
        values["launch_id"] = g.launch.launch_id


@bp.get("/visit")
def page() -> str:
    """The visit page for the launch's patient and encounter."""
    visit = load_visit(services().gateway(g.launch), g.launch.context, services().capabilities)
    return render_template(
        "visit.html",
        visit=visit,
        api_base=url_for("visit.api_root"),
        api_token=services().vault.api_token(g.launch.launch_id),
    )


@bp.get("/api")
def api_root() -> Response:
    """The API base (lists what it offers)."""
    _check_api_token()
    return jsonify({"visit": url_for("visit.api_visit")})


@bp.get("/api/visit")
def api_visit() -> Response:
    """The visit as JSON: patient and encounter."""
    _check_api_token()
    visit = load_visit(services().gateway(g.launch), g.launch.context, services().capabilities)
    return jsonify(
        {
            "patient": {**asdict(visit.patient), "birth_date": _iso(visit.patient.birth_date)},
            "encounter": asdict(visit.encounter) if visit.encounter else None,
            "need_patient_banner": visit.need_patient_banner,
        }
    )


class ApiTokenMissing(LaunchNotFound):
    """An API call without this launch's X-Flip-Launch secret."""

    advice = "Reload Flip from the chart; API calls need the page's X-Flip-Launch header."


def _check_api_token() -> None:
    if not services().vault.check_api_token(
        g.launch.launch_id, request.headers.get(API_TOKEN_HEADER)
    ):
        raise ApiTokenMissing("missing or wrong X-Flip-Launch header")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
