"""The FHIR R4 REST API as a Flask blueprint: thin handlers over `operations` and `bundles`.

JSON only (`application/fhir+json`). Every error is an OperationOutcome with the right
status, never an HTML page (https://hl7.org/fhir/R4/http.html#summary).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime

from flask import Blueprint, Response, g, request
from werkzeug.exceptions import HTTPException

from ehr_sandbox.access import Access, AccessDenied
from ehr_sandbox.fhir import bundles, operations
from ehr_sandbox.fhir.capability import capability_statement
from ehr_sandbox.fhir.errors import FhirError, JsonObject
from ehr_sandbox.fhir.profiles import OPEN, Profile
from ehr_sandbox.fhir.resources import check_type, parse_json
from ehr_sandbox.state import current_state

FHIR_JSON = "application/fhir+json"
LOOPBACK = frozenset({"127.0.0.1", "::1", "::ffff:127.0.0.1"})
_ALL_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]

log = logging.getLogger(__name__)


def create_fhir_blueprint(
    name: str,
    url_prefix: str,
    *,
    access: Callable[[], Access],
    loopback_only: bool,
    profile: Profile = OPEN,
) -> Blueprint:
    """A FHIR R4 REST server at `url_prefix`; `access` authorizes each request.

    `profile` is the write rules it keeps (and its CapabilityStatement states).
    """
    bp = Blueprint(name, __name__, url_prefix=url_prefix)

    def base() -> str:
        return current_state().settings.public_url.rstrip("/") + url_prefix

    @bp.before_request
    def authorize() -> Response | None:
        if loopback_only and request.remote_addr not in LOOPBACK:
            return fhir_error(FhirError(403, "This FHIR base answers loopback clients only"))
        # The CapabilityStatement is public: clients read it to discover how to authorize.
        if request.endpoint == f"{name}.metadata":
            return None
        try:
            g.fhir_access = access()
        except AccessDenied as denied:
            headers = (
                {"WWW-Authenticate": denied.www_authenticate} if denied.www_authenticate else {}
            )
            return fhir_error(FhirError(denied.status, denied.message, headers=headers))
        return None

    @bp.errorhandler(FhirError)
    def on_fhir_error(error: FhirError) -> Response:
        return fhir_error(error)

    @bp.errorhandler(HTTPException)
    def on_http_error(error: HTTPException) -> Response:
        return fhir_error(FhirError(error.code or 500, error.description or str(error)))

    @bp.errorhandler(Exception)
    def on_crash(error: Exception) -> Response:
        log.exception("FHIR request failed")
        return fhir_error(FhirError(500, f"Internal error: {type(error).__name__}"))

    @bp.get("/metadata")
    def metadata() -> Response:
        settings = current_state().settings
        statement = capability_statement(
            base=base(),
            public_url=settings.public_url.rstrip("/"),
            smart=not loopback_only,
            profile=profile,
        )
        return fhir_response(statement)

    @bp.route("/", methods=_ALL_METHODS, strict_slashes=False)
    def system() -> Response:
        if request.method != "POST":
            raise FhirError(405, f"{request.method} on the base is not supported")
        bundle = parse_json(request.get_data())
        return fhir_response(
            bundles.process_bundle(
                current_state().db, g.fhir_access, bundle, base=base(), profile=profile
            )
        )

    @bp.route("/<resource_type>", methods=_ALL_METHODS)
    def type_level(resource_type: str) -> Response:
        if request.method == "GET":
            return search(resource_type, list(request.args.items(multi=True)))
        if request.method != "POST":
            raise FhirError(405, f"{request.method} on {resource_type} is not supported")
        check_type(resource_type)
        resource = parse_json(request.get_data())
        if resource.get("resourceType") != resource_type:
            raise FhirError(400, f"POST /{resource_type} needs a {resource_type} resource")
        with current_state().db.writing() as session:
            outcome = operations.create(
                session,
                g.fhir_access,
                resource,
                profile=profile,
                if_none_exist=request.headers.get("If-None-Exist"),
            )
        return resource_response(outcome, base())

    @bp.route("/<resource_type>/_search", methods=["POST"])
    def search_post(resource_type: str) -> Response:
        params = [*request.args.items(multi=True), *request.form.items(multi=True)]
        return search(resource_type, params)

    def search(resource_type: str, params: list[tuple[str, str]]) -> Response:
        lenient = "handling=lenient" in request.headers.get("Prefer", "")
        with current_state().db.session() as session:
            bundle = operations.search(
                session, g.fhir_access, resource_type, params, base=base(), lenient=lenient
            )
        return fhir_response(bundle)

    @bp.route("/<resource_type>/<resource_id>", methods=_ALL_METHODS)
    def instance(resource_type: str, resource_id: str) -> Response:
        database = current_state().db
        with database.writing() if request.method != "GET" else database.session() as session:
            if request.method == "GET":
                outcome = operations.read(session, g.fhir_access, resource_type, resource_id)
            elif request.method == "PUT":
                check_type(resource_type)
                outcome = operations.update(
                    session,
                    g.fhir_access,
                    resource_type,
                    resource_id,
                    parse_json(request.get_data()),
                    profile=profile,
                    if_match=request.headers.get("If-Match"),
                )
            else:
                raise FhirError(
                    405, f"{request.method} on {resource_type}/{resource_id} is not supported"
                )
        return resource_response(outcome, base())

    @bp.route("/<path:rest>", methods=_ALL_METHODS)
    def unknown(rest: str) -> Response:
        raise FhirError(404, f"No FHIR endpoint at {url_prefix}/{rest}")

    return bp


def fhir_response(
    body: JsonObject, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A FHIR JSON response."""
    return Response(json.dumps(body), status=status, mimetype=FHIR_JSON, headers=headers)


def fhir_error(error: FhirError) -> Response:
    """The OperationOutcome response of an error."""
    return fhir_response(error.outcome(), error.status, error.headers)


def resource_response(outcome: operations.Outcome, base: str) -> Response:
    """A resource with its ETag, Location and Last-Modified headers."""
    updated = datetime.fromisoformat(outcome.resource["meta"]["lastUpdated"])
    headers = {
        "ETag": outcome.etag,
        "Location": f"{base}/{outcome.location}",
        "Last-Modified": format_datetime(updated, usegmt=True),
    }
    return fhir_response(outcome.resource, outcome.status, headers)
