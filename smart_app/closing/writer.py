"""One attempt at writing one agreed plan to the chart, resuming where the last one stopped.

Every create is conditional on Flip's identifier (`If-None-Exist`), and each Provenance on
its target, so an attempt after a lost response finds what was written and writes nothing
twice (https://hl7.org/fhir/R4/http.html#ccreate). With separate creates each written id is
recorded before the next request, so a crash mid-way resumes with the right references.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl

from fhir_mappings.plan_model import AgendaOutcome, AgreedPlan, PartneringNote, PlanGoal, PlanItem
from fhir_mappings.writeback import (
    PlannedWrite,
    WriteOptions,
    plan_writes,
    provenance_for,
    resolve_references,
)
from launch.fhir_errors import FhirError, FhirFatalError, FhirTemporaryError, FhirUnauthorized
from launch.gateway import FhirGateway, SearchRequest, reference_from_location, written_reference
from smart_app.closing.write_strategy import WriteStrategy

PROVENANCE_PREFIX = "provenance:"
NOT_TAKEN = "not-taken"
SKIPPED = "skipped"  # a Provenance of a resource the EHR did not take: nothing to attest
# What Flip can live without: the care-experience Observation repeats the partnering
# note's words as data, and Provenance says who wrote what. A 4xx on one of these (Epic
# takes only vital-sign Observations and no Provenance) leaves the plan written, and the
# status says what the EHR did not take.
OPTIONAL_TYPES = frozenset({"Observation", "Provenance"})


class Record:
    """Keeps an attempt's per-resource status and saves it after each change, so a crash
    mid-way resumes with every id already written (the outbox saves it with its lease)."""

    def __init__(
        self, writes: dict[str, dict[str, Any]], save: Callable[[dict[str, dict[str, Any]]], None]
    ) -> None:
        self.writes = writes
        self._save = save

    def __call__(self, key: str, **fields: Any) -> None:
        """Save one resource's progress: the fields of its status entry."""
        self.all({key: fields})

    def all(self, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """Save several resources' progress at once: the answer of one transaction."""
        for key, fields in changes.items():
            self.writes.setdefault(key, {}).update(fields)
        self._save(self.writes)


def initial_writes(
    planned: list[PlannedWrite], strategy: WriteStrategy
) -> dict[str, dict[str, Any]]:
    """Every resource of the plan as pending: the planned writes, then their Provenances."""
    writes = {w.key: _pending(w.resource_type) for w in planned}
    if strategy.write_provenance:
        writes |= {f"{PROVENANCE_PREFIX}{w.key}": _pending("Provenance") for w in planned}
    return writes


def write_plan(
    gateway: FhirGateway,
    plan: AgreedPlan,
    strategy: WriteStrategy,
    options: WriteOptions,
    writes: Mapping[str, Mapping[str, Any]],
    record: Record,
) -> None:
    """Write whatever of `plan` is not yet written; FhirError when an attempt fails."""
    planned = plan_writes(plan, options)
    written = {
        w.full_url: str(writes[w.key]["id"])
        for w in planned
        if writes.get(w.key, {}).get("status") == "written"
    }
    if strategy.transaction:
        if len(written) < len(planned):
            written = _write_transaction(gateway, planned, record)
    else:
        for write in planned:
            if write.full_url in written or _status(writes, write.key) == NOT_TAKEN:
                continue
            resource = resolve_references(write.resource, written)
            reference = create_optional(gateway, strategy, resource, write.if_none_exist)
            if reference is None:
                record(write.key, status=NOT_TAKEN, id=None, message=not_taken(resource))
                continue
            record(write.key, status="written", id=reference, message=None)
            written[write.full_url] = reference
    if strategy.write_provenance:
        _write_provenances(gateway, plan, strategy, options, planned, written, writes, record)


def _write_transaction(
    gateway: FhirGateway, planned: list[PlannedWrite], record: Record
) -> dict[str, str]:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            _entry(w.full_url, w.resource, w.resource_type, w.if_none_exist) for w in planned
        ],
    }
    references = _references(gateway.transaction(bundle), [w.resource_type for w in planned])
    answered = list(zip(planned, references, strict=True))
    record.all(
        {
            w.key: {"status": "written", "id": reference, "message": None}
            for w, reference in answered
        }
    )
    return {w.full_url: reference for w, reference in answered}


def _write_provenances(
    gateway: FhirGateway,
    plan: AgreedPlan,
    strategy: WriteStrategy,
    options: WriteOptions,
    planned: list[PlannedWrite],
    written: Mapping[str, str],
    writes: Mapping[str, Mapping[str, Any]],
    record: Record,
) -> None:
    skipped = {  # their resources were not taken: nothing to attest
        f"{PROVENANCE_PREFIX}{w.key}": {"status": SKIPPED, "id": None, "message": None}
        for w in planned
        if w.full_url not in written
    }
    if skipped:
        record.all(skipped)
    todo = [
        (f"{PROVENANCE_PREFIX}{w.key}", written[w.full_url])
        for w in planned
        if w.full_url in written
        and _status(writes, f"{PROVENANCE_PREFIX}{w.key}") not in ("written", NOT_TAKEN, SKIPPED)
    ]
    if not todo:
        return
    # One Provenance per target, conditional on it: servers that allow one target accept it.
    provenances = [(key, provenance_for(target, plan, options), target) for key, target in todo]
    if strategy.transaction:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                _entry(None, resource, "Provenance", f"target={target}")
                for _, resource, target in provenances
            ],
        }
        references = _references(gateway.transaction(bundle), ["Provenance"] * len(todo))
        record.all(
            {
                key: {"status": "written", "id": reference, "message": None}
                for (key, _, _), reference in zip(provenances, references, strict=True)
            }
        )
        return
    for key, resource, target in provenances:
        created = create_optional(gateway, strategy, resource, f"target={target}")
        if created is None:
            record(key, status=NOT_TAKEN, id=None, message=not_taken(resource))
        else:
            record(key, status="written", id=created, message=None)


def create_optional(
    gateway: FhirGateway, strategy: WriteStrategy, resource: dict[str, Any], query: str | None
) -> str | None:  # used by amending.py too
    """Create `resource`; None when the EHR refuses a resource Flip can live without."""
    try:
        return _create(gateway, strategy, resource, query)
    except FhirUnauthorized:
        raise
    except FhirFatalError:
        if resource["resourceType"] in OPTIONAL_TYPES:
            return None
        raise


def not_taken(resource: Mapping[str, Any]) -> str:
    return f"The EHR does not take this {resource['resourceType']}; the plan is saved without it."


def _status(writes: Mapping[str, Mapping[str, Any]], key: str) -> Any:
    return writes.get(key, {}).get("status")


def _create(
    gateway: FhirGateway, strategy: WriteStrategy, resource: dict[str, Any], query: str | None
) -> str:
    resource_type = str(resource["resourceType"])
    if query and resource_type in strategy.search_first:
        # No conditional create on this server: look first (a narrow race remains, which
        # only the server could close).
        found = gateway.search(SearchRequest(resource_type, parse_qsl(query)), max_pages=1)
        if found and found[0].get("id"):
            return f"{resource_type}/{found[0]['id']}"
        query = None
    return gateway.create(resource, if_none_exist=query)[1]


def _entry(
    full_url: str | None, resource: dict[str, Any], resource_type: str, query: str | None
) -> dict[str, Any]:
    request: dict[str, Any] = {"method": "POST", "url": resource_type}
    if query:
        request["ifNoneExist"] = query
    entry: dict[str, Any] = {"resource": resource, "request": request}
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def _references(response: Mapping[str, Any], types: list[str]) -> list[str]:
    # transaction-response entries answer the request entries in order
    # (https://hl7.org/fhir/R4/http.html#transaction-response).
    entries = response.get("entry") or []
    if len(entries) != len(types):
        raise FhirTemporaryError("The EHR's transaction response is missing entries.")
    references = []
    for entry, resource_type in zip(entries, types, strict=True):
        answer = entry.get("response") or {}
        status = str(answer.get("status", ""))
        if not status.startswith("2"):
            raise FhirFatalError(f"The EHR refused {resource_type} in the transaction: {status}")
        reference = written_reference(resource_type, entry.get("resource"), {}) or (
            reference_from_location(resource_type, answer.get("location"))
        )
        if reference is None:
            raise FhirTemporaryError(f"The EHR wrote the {resource_type} but gave no id.")
        references.append(reference)
    return references


def _pending(resource_type: str) -> dict[str, Any]:
    return {"resource_type": resource_type, "status": "pending", "id": None, "message": None}


def error_message(error: FhirError) -> str:
    """What to show the clinician for a refused write: the server's words where it sent any."""
    return error.outcome or str(error)


def plan_to_json(plan: AgreedPlan) -> dict[str, Any]:
    """The plan as JSON, for the outbox's sealed payload."""
    return _jsonable(asdict(plan))  # type: ignore[no-any-return]


def plan_from_json(value: Mapping[str, Any]) -> AgreedPlan:
    """The plan stored by `plan_to_json`."""
    note = value.get("partnering_note")
    return AgreedPlan(
        plan_id=value["plan_id"],
        patient_id=value["patient_id"],
        encounter_id=value.get("encounter_id"),
        practitioner_ref=value["practitioner_ref"],
        items=tuple(
            PlanItem(
                text=i["text"],
                owner=i.get("owner"),
                when=i["when"],
                due=date.fromisoformat(i["due"]) if i.get("due") else None,
            )
            for i in value.get("items") or ()
        ),
        goals=tuple(PlanGoal(g["text"], g.get("expressed_by")) for g in value.get("goals") or ()),
        follow_up=value.get("follow_up"),
        partnering_note=PartneringNote(
            style=note.get("style"),
            learning_preferences=tuple(note.get("learning_preferences") or ()),
            text=note.get("text"),
        )
        if note
        else None,
        outcomes=tuple(
            AgendaOutcome(
                o["text"], o["source"], o["status"], o.get("reason"), bool(o.get("care_team_only"))
            )
            for o in value.get("outcomes") or ()
        ),
        something_else_asked=bool(value.get("something_else_asked")),
        something_else_added=tuple(value.get("something_else_added") or ()),
        visit_start=datetime.fromisoformat(value["visit_start"]),
        finished_at=datetime.fromisoformat(value["finished_at"]),
        replaces=tuple(value.get("replaces") or ()),
        closed_goals=tuple((str(g), str(o)) for g, o in value.get("closed_goals") or ()),
        practitioner_display=value.get("practitioner_display"),
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
