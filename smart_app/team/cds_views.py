"""CDS Hooks routes: discovery (open to all), the flip-previsit hook and its feedback.

The hook and feedback answer a refused JWT with a bare 401 and a malformed request with
400 `{"error": reason}` (CDS Hooks 2.0 "HTTP Response"); neither is one of the app's
error pages, since the caller is an EHR's server, not a person.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from smart_app.core.registry import service
from smart_app.team.cds_clients import CdsClient
from smart_app.team.cds_request import CdsBadRequest, parse_hook_request
from smart_app.team.cds_service import SERVICE_ID, CdsService
from smart_app.team.cds_tokens import CdsTokenVerifier, CdsUnauthorized, refusal_logged

bp = Blueprint("cds", __name__)


@bp.get("/cds-services")
def discovery() -> Response:
    """The services Flip offers, with their prefetch templates."""
    return jsonify(service(CdsService).discovery())


@bp.post(f"/cds-services/{SERVICE_ID}")
def patient_view() -> tuple[Response, int]:
    """One card: the patient's number one concern, in their words."""
    client = _caller(service(CdsService).service_url)
    if client is None:
        return jsonify({}), 401
    try:
        hook = parse_hook_request(request.get_json(silent=True))
        return jsonify(service(CdsService).patient_view(hook, client)), 200
    except CdsBadRequest as error:
        return jsonify({"error": str(error)}), 400


@bp.post(f"/cds-services/{SERVICE_ID}/feedback")
def feedback() -> tuple[Response, int]:
    """What the clinician did with the card, for the audit trail."""
    # The feedback endpoint is its own URL; a client may name it or the service's as aud.
    service_url = service(CdsService).service_url
    client = _caller(service_url, f"{service_url}/feedback")
    if client is None:
        return jsonify({}), 401
    try:
        service(CdsService).feedback(request.get_json(silent=True), client)
    except CdsBadRequest as error:
        return jsonify({"error": str(error)}), 400
    return jsonify({}), 200


def _caller(*audiences: str) -> CdsClient | None:
    try:
        return service(CdsTokenVerifier).verify(
            request.headers.get("Authorization"), audiences=list(audiences)
        )
    except CdsUnauthorized as error:
        refusal_logged(error)
        return None
