"""The FHIR interactions (read, create, update, search) over the store, with access checks.

HTTP handlers and Bundle entries both call these, so a transaction entry behaves exactly
like the same request sent on its own. See https://hl7.org/fhir/R4/http.html. Writes
first pass the base's write-rule profile (`profiles.py`), then the token's scopes.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from sqlalchemy.orm import Session

from ehr_sandbox.access import Access, Reach
from ehr_sandbox.fhir.errors import FhirError, JsonObject
from ehr_sandbox.fhir.profiles import Profile
from ehr_sandbox.fhir.resources import (
    SHARED_TYPES,
    check_id,
    check_type,
    compartment_of,
    validate_resource,
)
from ehr_sandbox.fhir.search import parse_search, run_search
from ehr_sandbox.fhir.store import ResourceRecord

_ETAG = re.compile(r'^(?:W/)?"?([^"]*)"?$')


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one interaction: HTTP status and the resource to answer with."""

    status: int
    resource: JsonObject

    @property
    def location(self) -> str:
        """`Type/id/_history/n`, the relative Location of this resource version."""
        meta = self.resource["meta"]
        return f"{self.resource['resourceType']}/{self.resource['id']}/_history/{meta['versionId']}"

    @property
    def etag(self) -> str:
        """The weak ETag of this version (https://hl7.org/fhir/R4/http.html#versioning)."""
        return f'W/"{self.resource["meta"]["versionId"]}"'


def require_reach(access: Access, resource_type: str, interaction: str) -> Reach:
    """How far the request may go; 403 when its scopes do not permit the interaction."""
    check_type(resource_type)
    reach = access.reach(resource_type, interaction)
    if reach is None:
        raise FhirError(403, f"The access token does not permit {interaction} on {resource_type}")
    return reach


def read(session: Session, access: Access, resource_type: str, resource_id: str) -> Outcome:
    """The current version of a resource; 404 when unknown, 403 outside the patient's reach."""
    reach = require_reach(access, resource_type, "read")
    record = session.get(ResourceRecord, (resource_type, resource_id))
    if record is None:
        raise FhirError(404, f"{resource_type}/{resource_id} is not known")
    _check_compartment(access, reach, resource_type, record.patient_id, write=False)
    _check_label(access, record.content, write=False)
    return Outcome(200, record.content)


def create(
    session: Session,
    access: Access,
    resource: JsonObject,
    *,
    profile: Profile,
    if_none_exist: str | None = None,
    new_id: str | None = None,
) -> Outcome:
    """Create a resource with a server-assigned id (or `new_id`), honouring If-None-Exist."""
    validate_resource(resource)
    profile.check_create(resource)
    resource_type = resource["resourceType"]
    reach = require_reach(access, resource_type, "create")
    if if_none_exist:
        existing = find_existing(session, access, resource_type, if_none_exist)
        if existing is not None:
            return Outcome(200, existing)
    return Outcome(201, _write(session, access, reach, resource, new_id or str(uuid.uuid4())))


def find_existing(
    session: Session, access: Access, resource_type: str, query: str
) -> JsonObject | None:
    """The one resource matching a conditional create's query; 412 when several match.

    See https://hl7.org/fhir/R4/http.html#ccreate.
    """
    reach = require_reach(access, resource_type, "search")
    request = parse_search(resource_type, parse_qsl(query.lstrip("?")), lenient=False)
    request.count = 2
    if not request.criteria:
        raise FhirError(400, "If-None-Exist needs at least one search criterion")
    result = run_search(
        session,
        resource_type,
        request,
        compartment=_compartment(access, reach, resource_type),
        visible=access.may_see,
    )
    if result.total > 1:
        raise FhirError(412, f"If-None-Exist {query!r} matches {result.total} resources")
    return result.page[0] if result.page else None


def update(
    session: Session,
    access: Access,
    resource_type: str,
    resource_id: str,
    resource: JsonObject,
    *,
    profile: Profile,
    if_match: str | None = None,
) -> Outcome:
    """Replace a resource (or create it at this id); 412 when If-Match names an old version."""
    check_id(resource_id)
    validate_resource(resource, expected_type=resource_type)
    # https://hl7.org/fhir/R4/http.html#update: the body's id must match the URL's.
    if resource.get("id") != resource_id:
        raise FhirError(400, f"The resource id must be {resource_id!r}, as in the URL")
    profile.check_update(resource_type)
    reach = require_reach(access, resource_type, "update")
    record = session.get(ResourceRecord, (resource_type, resource_id))
    if record is None:
        profile.check_update_create(resource_type)
    else:
        _check_compartment(access, reach, resource_type, record.patient_id, write=True)
        _check_label(access, record.content, write=True)
    if if_match is not None:
        match = _ETAG.match(if_match.strip())
        wanted = match.group(1) if match else if_match
        current = str(record.version_id) if record is not None else None
        if wanted != current:
            raise FhirError(
                412, f"If-Match {if_match} does not match the current version ({current})"
            )
    content = _write(session, access, reach, resource, resource_id, record=record)
    return Outcome(201 if record is None else 200, content)


def search(
    session: Session,
    access: Access,
    resource_type: str,
    params: list[tuple[str, str]],
    *,
    base: str,
    lenient: bool = False,
) -> JsonObject:
    """A searchset Bundle of one page of matches, with `total` and `self`/`next` links."""
    reach = require_reach(access, resource_type, "search")
    request = parse_search(resource_type, params, lenient=lenient)
    compartment = _compartment(access, reach, resource_type)
    result = run_search(
        session, resource_type, request, compartment=compartment, visible=access.may_see
    )
    kept = [(k, v) for k, v in params if k != "_offset"]
    links = [{"relation": "self", "url": _search_url(base, resource_type, params)}]
    if result.next_offset is not None:
        next_params = [*kept, ("_offset", str(result.next_offset))]
        links.append({"relation": "next", "url": _search_url(base, resource_type, next_params)})
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": result.total,
        "link": links,
        "entry": [
            {
                "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in result.page
        ],
    }


def _search_url(base: str, resource_type: str, params: list[tuple[str, str]]) -> str:
    query = urlencode(params)
    return f"{base}/{resource_type}?{query}" if query else f"{base}/{resource_type}"


def _compartment(access: Access, reach: Reach, resource_type: str) -> str | None:
    """The compartment a search is silently restricted to, or None for no restriction."""
    if reach is Reach.ALL or resource_type in SHARED_TYPES:
        return None
    return access.patient


def _check_compartment(
    access: Access, reach: Reach, resource_type: str, patient_id: str | None, *, write: bool
) -> None:
    if reach is Reach.ALL or (patient_id is not None and patient_id == access.patient):
        return
    if not write and patient_id is None and resource_type in SHARED_TYPES:
        return
    raise FhirError(403, f"This {resource_type} is outside the launch patient's compartment")


def _check_label(access: Access, resource: JsonObject, *, write: bool) -> None:
    # A proxy (RelatedPerson) may neither read nor overwrite a resource labelled
    # restricted: https://hl7.org/fhir/R4/security-labels.html (v3-Confidentiality R).
    if not access.may_see(resource):
        verb = "written" if write else "read"
        raise FhirError(403, f"This resource is restricted and cannot be {verb} by a proxy")


def _write(
    session: Session,
    access: Access,
    reach: Reach,
    resource: JsonObject,
    resource_id: str,
    *,
    record: ResourceRecord | None = None,
) -> JsonObject:
    """Store a new version with server-set id, versionId and lastUpdated."""
    resource_type = resource["resourceType"]
    now = datetime.now(UTC)
    version = 1 if record is None else record.version_id + 1
    meta = {**resource.get("meta", {})}
    meta["versionId"] = str(version)
    meta["lastUpdated"] = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    content = {"resourceType": resource_type, "id": resource_id, **resource}
    content.update(id=resource_id, meta=meta)
    patient_id = compartment_of(content, lambda t, i: _stored_compartment(session, t, i))
    _check_compartment(access, reach, resource_type, patient_id, write=True)
    _check_label(access, content, write=True)
    if record is None:
        record = ResourceRecord(resource_type=resource_type, id=resource_id)
        session.add(record)
    record.version_id = version
    record.last_updated = now
    record.patient_id = patient_id
    record.content = content
    # Flush so later entries of the same transaction see this resource.
    session.flush()
    return content


def _stored_compartment(session: Session, resource_type: str, resource_id: str) -> str | None:
    record = session.get(ResourceRecord, (resource_type, resource_id))
    return None if record is None else record.patient_id
