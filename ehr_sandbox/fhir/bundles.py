"""`batch` and `transaction` Bundles POSTed to the base.

See https://hl7.org/fhir/R4/http.html#transaction. A transaction runs in one database
transaction: any failing entry rolls back every entry. Batch entries are independent,
each in its own database transaction with its own response status. The base's write-rule
profile decides whether it takes the Bundle type at all, and judges every entry exactly
as it judges the same request sent alone (a refused batch entry gets its own 405).
"""

from __future__ import annotations

import copy
import uuid
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from ehr_sandbox.access import Access
from ehr_sandbox.db import Database
from ehr_sandbox.fhir import operations
from ehr_sandbox.fhir.errors import FhirError, JsonObject, status_line
from ehr_sandbox.fhir.profiles import Profile
from ehr_sandbox.fhir.resources import references

# Transaction entries run in this order of method (https://hl7.org/fhir/R4/http.html#trules).
_TRANSACTION_ORDER = {"POST": 0, "PUT": 1, "GET": 2}


def process_bundle(
    db: Database, access: Access, bundle: JsonObject, *, base: str, profile: Profile
) -> JsonObject:
    """The batch-response or transaction-response Bundle answering `bundle`."""
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") not in ("batch", "transaction"):
        raise FhirError(400, "POST to the base takes a Bundle of type batch or transaction")
    profile.check_bundle(bundle["type"])
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise FhirError(400, "Bundle.entry must be a list of objects", code="structure")
    for index, entry in enumerate(entries):
        _request_of(entry, index)
    if bundle["type"] == "transaction":
        with db.writing() as session:
            responses = _transaction(session, access, entries, base=base, profile=profile)
    else:
        responses = [
            _batch_entry(db, access, entry, base=base, profile=profile) for entry in entries
        ]
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": f"{bundle['type']}-response",
        "entry": responses,
    }


def _request_of(entry: JsonObject, index: int) -> tuple[str, str]:
    request = entry.get("request")
    if not isinstance(request, dict) or not isinstance(request.get("url"), str):
        raise FhirError(400, f"entry[{index}] has no request.url", code="structure")
    method = str(request.get("method", "")).upper()
    if method not in _TRANSACTION_ORDER:
        raise FhirError(400, f"entry[{index}]: method {method!r} is not supported here")
    return method, request["url"]


def _batch_entry(
    db: Database, access: Access, entry: JsonObject, *, base: str, profile: Profile
) -> JsonObject:
    try:
        with db.writing() as session:
            return _run_entry(session, access, entry, base=base, profile=profile)
    except FhirError as error:
        return {"response": {"status": status_line(error.status), "outcome": error.outcome()}}


def _transaction(
    session: Session, access: Access, entries: list[JsonObject], *, base: str, profile: Profile
) -> list[JsonObject]:
    entries = copy.deepcopy(entries)
    assigned = _assign_ids(session, access, entries, base=base)
    targets = {full_url: f"{t}/{i}" for full_url, (t, i) in assigned.items()}
    for entry in entries:
        for reference in references(entry.get("resource")):
            reference["reference"] = targets.get(reference["reference"], reference["reference"])
    order = sorted(
        range(len(entries)), key=lambda i: _TRANSACTION_ORDER[_request_of(entries[i], i)[0]]
    )
    responses: dict[int, JsonObject] = {}
    for index in order:
        entry = entries[index]
        new_id = assigned.get(str(entry.get("fullUrl", "")), (None, None))[1]
        try:
            responses[index] = _run_entry(
                session, access, entry, base=base, profile=profile, new_id=new_id
            )
        except FhirError as error:
            raise FhirError(
                error.status, f"entry[{index}]: {error.message}", code=error.code
            ) from error
    return [responses[i] for i in range(len(entries))]


def _assign_ids(
    session: Session, access: Access, entries: list[JsonObject], *, base: str
) -> dict[str, tuple[str, str]]:
    """(type, id) for each `urn:uuid:` fullUrl, so references to it can be rewritten.

    A conditional create that matches an existing resource points at that resource.
    """
    assigned: dict[str, tuple[str, str]] = {}
    for index, entry in enumerate(entries):
        full_url = entry.get("fullUrl")
        if not isinstance(full_url, str) or not full_url.startswith("urn:"):
            continue
        method, url = _request_of(entry, index)
        parts = _path_parts(url, base)
        if method == "PUT" and len(parts) == 2:
            assigned[full_url] = (parts[0], parts[1])
        elif method == "POST":
            if_none_exist = entry["request"].get("ifNoneExist")
            existing = None
            if if_none_exist:
                try:
                    existing = operations.find_existing(session, access, parts[0], if_none_exist)
                except FhirError as error:
                    raise FhirError(error.status, f"entry[{index}]: {error.message}") from error
            assigned[full_url] = (parts[0], existing["id"] if existing else str(uuid.uuid4()))
    return assigned


def _run_entry(
    session: Session,
    access: Access,
    entry: JsonObject,
    *,
    base: str,
    profile: Profile,
    new_id: str | None = None,
) -> JsonObject:
    method, url = _request_of(entry, 0)
    request: dict[str, Any] = entry["request"]
    parts = _path_parts(url, base)
    query = url.partition("?")[2]
    resource = entry.get("resource")
    if method in ("POST", "PUT") and not isinstance(resource, dict):
        raise FhirError(400, f"{method} {url} needs a resource")
    if method == "GET" and len(parts) == 1:
        bundle = operations.search(session, access, parts[0], parse_qsl(query), base=base)
        return {"resource": bundle, "response": {"status": status_line(200)}}
    if method == "GET" and len(parts) == 2:
        outcome = operations.read(session, access, parts[0], parts[1])
    elif method == "POST" and len(parts) == 1:
        assert isinstance(resource, dict)
        if resource.get("resourceType") != parts[0]:
            raise FhirError(400, f"POST {url} needs a {parts[0]}")
        outcome = operations.create(
            session,
            access,
            resource,
            profile=profile,
            if_none_exist=request.get("ifNoneExist"),
            new_id=new_id,
        )
    elif method == "PUT" and len(parts) == 2:
        assert isinstance(resource, dict)
        outcome = operations.update(
            session,
            access,
            parts[0],
            parts[1],
            resource,
            profile=profile,
            if_match=request.get("ifMatch"),
        )
    else:
        raise FhirError(400, f"{method} {url} is not an interaction this server supports")
    return {
        "fullUrl": f"{base}/{outcome.resource['resourceType']}/{outcome.resource['id']}",
        "resource": outcome.resource,
        "response": {
            "status": status_line(outcome.status),
            "location": outcome.location,
            "etag": outcome.etag,
            "lastModified": outcome.resource["meta"]["lastUpdated"],
        },
    }


def _path_parts(url: str, base: str) -> list[str]:
    """The path segments of an entry's request.url, relative or on this base."""
    return url.removeprefix(base).partition("?")[0].strip("/").split("/")
