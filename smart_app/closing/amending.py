"""Amending a plan already in the chart: the edited version reaches it, once.

Only what changed is written. CarePlan, Goal and the preference Observation are updated in
place where the server lists `update` for the type and the scopes allow it: a PUT with
`If-Match` on the version just read (https://hl7.org/fhir/R4/http.html#concurrency). A 412
(someone changed it in the chart meanwhile) is read again, the clinician's version put on
top, and said. Where the server cannot update, and always for notes (a signed note is
never rewritten), the new version is created pointing at the one it replaces
(`CarePlan.replaces`, `DocumentReference.relatesTo` `replaces`), and the old one is retired
(CarePlan `revoked`, DocumentReference `superseded`) where the server allows. Each changed
resource gets its own Provenance (of the version written), found again on a retry, so
none is written twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from fhir_mappings.plan_model import AgreedPlan
from fhir_mappings.writeback import (
    PlannedWrite,
    WriteOptions,
    plan_writes,
    provenance_for,
    resolve_references,
)
from launch.fhir_errors import FhirFatalError, FhirUnauthorized
from launch.gateway import FhirGateway, SearchRequest
from smart_app.closing.write_strategy import WriteStrategy
from smart_app.closing.writer import (
    NOT_TAKEN,
    PROVENANCE_PREFIX,
    SKIPPED,
    Record,
    create_optional,
    not_taken,
)

UPDATED, REPLACED, UNCHANGED = "updated", "replaced", "unchanged"
CANCELLED = "cancelled"  # a goal taken out of the plan in the edit
IN_PLACE = frozenset({"CarePlan", "Goal", "Observation"})
RETIRED = {"CarePlan": "revoked", "DocumentReference": "superseded"}
CHANGED_MEANWHILE = (
    "Someone changed this in the chart after Flip wrote it; your edit was put on top of "
    "their version. Check it in the chart."
)
# Whether the server lets Flip update a type (its CapabilityStatement and the scopes).
CanUpdate = Callable[[str], bool]


def previous_version(
    plan: AgreedPlan, options: WriteOptions, writes: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """What an amendment starts from: the written resources of this version, by key, with
    their id and a digest of their content, and the Provenance written for each."""
    resources: dict[str, dict[str, Any]] = {}
    for w in plan_writes(plan, options):
        for key, digest in ((w.key, _digest(w)), (f"{PROVENANCE_PREFIX}{w.key}", None)):
            entry = writes.get(key) or {}
            if entry.get("status") == "written" and entry.get("id"):
                kind = w.resource_type if digest else "Provenance"
                resources[key] = {"resource_type": kind, "id": entry["id"], "digest": digest}
    return {"finished_at": plan.finished_at.isoformat(), "resources": resources}


def amend_plan(
    gateway: FhirGateway,
    plan: AgreedPlan,
    strategy: WriteStrategy,
    options: WriteOptions,
    *,
    version: int,
    previous: Mapping[str, Any],
    writes: Mapping[str, Mapping[str, Any]],
    record: Record,
    can_update: CanUpdate,
) -> None:
    """Write what changed since `previous`, resuming where the last attempt stopped."""
    before: Mapping[str, Mapping[str, Any]] = previous.get("resources") or {}
    # The same content finished at another time is the same resource: compare without it.
    then = replace(plan, finished_at=datetime.fromisoformat(previous["finished_at"]))
    digests = {w.key: _digest(w) for w in plan_writes(then, options)}
    written: dict[str, str] = {}
    changed: list[tuple[str, str]] = []
    for write in plan_writes(plan, options):
        entry = writes.get(write.key) or {}
        if entry.get("status") == "written":  # an earlier attempt of this version
            written[write.full_url] = str(entry["id"])
            if entry.get("action") != UNCHANGED:
                changed.append((write.key, str(entry.get("version") or entry["id"])))
            if entry.get("retires"):  # its old version was not retired yet
                _retire(gateway, str(entry["retires"]))
                record(write.key, retires=None)
            continue
        if entry.get("status") == NOT_TAKEN:
            continue
        old = before.get(write.key)
        if old is not None and old["digest"] == digests.get(write.key):
            record(write.key, status="written", id=old["id"], action=UNCHANGED, message=None)
            written[write.full_url] = old["id"]
            continue
        resource = resolve_references(write.resource, written)
        if old is not None and write.resource_type in IN_PLACE and can_update(write.resource_type):
            version_ref, message = _update_in_place(gateway, old["id"], resource)
            record(
                write.key,
                status="written",
                id=old["id"],
                version=version_ref,
                action=UPDATED,
                message=message,
            )
            written[write.full_url] = old["id"]
            changed.append((write.key, version_ref))
            continue
        query = write.if_none_exist
        if old is not None:
            resource, query = _replacing(resource, query, old["id"], version)
        reference = create_optional(gateway, strategy, resource, query)
        if reference is None:
            record(write.key, status=NOT_TAKEN, id=None, message=not_taken(resource))
            continue
        action = REPLACED if old is not None else "created"
        retires = old["id"] if old is not None and can_update(write.resource_type) else None
        record(
            write.key, status="written", id=reference, action=action, retires=retires, message=None
        )
        if retires:
            _retire(gateway, retires)  # a temporary failure here: the next attempt retires it
            record(write.key, retires=None)
        written[write.full_url] = reference
        changed.append((write.key, reference))
    _cancel_removed_goals(gateway, plan, options, before, record, can_update)
    if strategy.write_provenance:
        _provenances(gateway, plan, strategy, options, changed, writes, record)
        _settle_provenances(writes, before, record)


def _cancel_removed_goals(
    gateway: FhirGateway,
    plan: AgreedPlan,
    options: WriteOptions,
    before: Mapping[str, Mapping[str, Any]],
    record: Record,
    can_update: CanUpdate,
) -> None:
    # A goal taken out of the plan is no longer a goal (https://hl7.org/fhir/R4/goal.html):
    # cancelled where the server lets Flip update Goal, so the next visit does not bring
    # it back, and said in "What was sent". Where it cannot, the plan no longer names it.
    if not can_update("Goal"):
        return
    kept = {w.key for w in plan_writes(plan, options)}
    for key, old in before.items():
        if key not in kept and old["resource_type"] == "Goal":
            _update(gateway, str(old["id"]), {"lifecycleStatus": "cancelled"})
            record(key, resource_type="Goal", status="written", id=old["id"], action=CANCELLED)


def _digest(write: PlannedWrite) -> str:
    text = json.dumps(write.resource, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _update_in_place(
    gateway: FhirGateway, reference: str, resource: dict[str, Any]
) -> tuple[str, str | None]:
    """PUT the new content on the version just read; (the version written, what to say)."""
    resource_type, _, resource_id = reference.partition("/")
    for attempt in (1, 2):
        current = gateway.read(resource_type, resource_id)
        try:
            now = gateway.update({**resource, "id": resource_id}, if_match=_etag(current))
        except FhirFatalError as error:
            if error.status != 412 or attempt == 2:
                raise
            continue  # changed since we read it: read it again, and say so
        version_id = (now.get("meta") or {}).get("versionId")
        versioned = f"{reference}/_history/{version_id}" if version_id else reference
        return versioned, CHANGED_MEANWHILE if attempt == 2 else None
    raise AssertionError("unreachable: the loop returns or raises")


def _etag(resource: Mapping[str, Any]) -> str | None:
    version_id = (resource.get("meta") or {}).get("versionId")
    return f'W/"{version_id}"' if version_id else None


def _replacing(
    resource: dict[str, Any], query: str | None, old: str, version: int
) -> tuple[dict[str, Any], str | None]:
    # A new resource of its own identifier (the old one keeps the first), pointing back.
    identifiers = [{**i, "value": f"{i['value']}/v{version}"} for i in resource["identifier"]]
    changed = {**resource, "identifier": identifiers}
    if resource["resourceType"] == "CarePlan":
        changed["replaces"] = [{"reference": old}]
    elif resource["resourceType"] == "DocumentReference":
        changed["relatesTo"] = [{"code": "replaces", "target": {"reference": old}}]
    return changed, f"{query}/v{version}" if query else None


def close_replaced(
    gateway: FhirGateway,
    plan: AgreedPlan,
    writes: Mapping[str, Mapping[str, Any]],
    can_update: CanUpdate,
) -> None:
    """Set the earlier visits' plans this one replaces to `completed` where the server lets
    Flip update CarePlan, once the new CarePlan is in: one active Flip plan in the chart.
    Where it cannot, the new plan's `replaces` says which it supersedes."""
    if (writes.get("careplan") or {}).get("status") != "written" or not can_update("CarePlan"):
        return
    for reference in plan.replaces:
        _retire(gateway, reference, status="completed")


GOAL_ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"


def close_goals(gateway: FhirGateway, plan: AgreedPlan, can_update: CanUpdate) -> None:
    """The last plan's goals closed in this visit, where the server lets Flip update Goal:
    "achieved" is completed and achieved, "cancelled" no longer a goal
    (https://hl7.org/fhir/R4/goal.html). Where it cannot, the next plan simply leaves
    them out, and the next visit does not bring them back from it."""
    if not plan.closed_goals or not can_update("Goal"):
        return
    for reference, outcome in plan.closed_goals:
        ending = "completed" if outcome == "achieved" else "cancelled"
        closed: dict[str, Any] = {"lifecycleStatus": ending}
        if outcome == "achieved":
            closed["achievementStatus"] = {
                "coding": [{"system": GOAL_ACHIEVEMENT, "code": "achieved", "display": "Achieved"}]
            }
        _update(gateway, reference, closed)


def _update(gateway: FhirGateway, reference: str, changes: Mapping[str, Any]) -> None:
    # Read, change, PUT with If-Match; a refusal or a conflict leaves it as it is.
    resource_type, _, resource_id = reference.partition("/")
    try:
        current = gateway.read(resource_type, resource_id)
        if all(current.get(k) == v for k, v in changes.items()):
            return  # done on an earlier attempt
        gateway.update({**current, **changes}, if_match=_etag(current))
    except FhirUnauthorized:
        raise
    except FhirFatalError:
        pass


def _retire(gateway: FhirGateway, reference: str, status: str | None = None) -> None:
    # Where the server refuses, the old version stays; the new one says it replaces it.
    status = status or RETIRED.get(reference.partition("/")[0])
    if status is not None:
        _update(gateway, reference, {"status": status})


def _provenances(
    gateway: FhirGateway,
    plan: AgreedPlan,
    strategy: WriteStrategy,
    options: WriteOptions,
    changed: list[tuple[str, str]],
    writes: Mapping[str, Mapping[str, Any]],
    record: Record,
) -> None:
    for key, target in changed:
        provenance_key = f"{PROVENANCE_PREFIX}{key}"
        if (writes.get(provenance_key) or {}).get("status") in ("written", NOT_TAKEN):
            continue
        # An updated resource's Provenance names the version written (`.../_history/2`);
        # a reference search ignores versions, so look for this one before creating it.
        resource = provenance_for(target, plan, options)
        plain = target.split("/_history/")[0]
        found = _provenance_of(gateway, plain, target) if plain != target else None
        created = found or create_optional(
            gateway, strategy, resource, f"target={plain}" if plain == target else None
        )
        status = NOT_TAKEN if created is None else "written"
        message = not_taken(resource) if created is None else None
        record(
            provenance_key, resource_type="Provenance", status=status, id=created, message=message
        )


def _settle_provenances(
    writes: Mapping[str, Mapping[str, Any]], before: Mapping[str, Mapping[str, Any]], record: Record
) -> None:
    # A resource not written in this version keeps its Provenance: the earlier one still
    # attests it (unchanged), or there is none to write (the EHR did not take it).
    for key, entry in list(writes.items()):
        if not key.startswith(PROVENANCE_PREFIX) or entry.get("status") != "pending":
            continue
        target = writes.get(key.removeprefix(PROVENANCE_PREFIX)) or {}
        if target.get("action") == UNCHANGED:
            kept = (before.get(key) or {}).get("id")
            record(key, status="written", id=kept, action=UNCHANGED, message=None)
        elif target.get("status") == NOT_TAKEN:
            record(key, status=SKIPPED, id=None, message=None)


def _provenance_of(gateway: FhirGateway, plain: str, versioned: str) -> str | None:
    for provenance in gateway.search(SearchRequest("Provenance", {"target": plain})):
        targets = [t.get("reference") for t in provenance.get("target") or []]
        if versioned in targets and provenance.get("id"):
            return f"Provenance/{provenance['id']}"
    return None
