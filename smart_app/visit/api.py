"""The agenda API's input checks and JSON shapes (docs/openapi.yaml describes them)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any, cast

from smart_app.core.validation import InvalidRequest
from smart_app.visit.agenda import (
    SOURCES,
    STATUSES,
    AddedItem,
    AgendaItem,
    Draft,
    Source,
    Status,
    added_item,
)
from smart_app.visit.drafts import SavedDraft
from smart_app.visit.reader import Visit

MAX_TEXT = 1000  # characters of an item someone typed
MAX_REASON = 500
# Item ids carry FHIR ids, which may hold "." (https://hl7.org/fhir/R4/datatypes.html#id).
_ITEM_ID = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


def parse_agenda_update(
    body: Any, known: set[str] | None = None
) -> tuple[list[str] | None, dict[str, tuple[Status, str | None]]]:
    """`{"order": [ids], "statuses": {id: {"status", "reason"}}}`, checked."""
    if not isinstance(body, dict):
        raise InvalidRequest('Send a JSON object: {"order": [...], "statuses": {...}}.')
    order = body.get("order")
    if order is not None:
        if not isinstance(order, list) or not all(isinstance(i, str) for i in order):
            raise InvalidRequest('"order" must be a list of item ids.')
        if len(set(order)) != len(order):
            raise InvalidRequest('"order" lists an item twice.')
        _check_ids(order, known)
    raw = body.get("statuses", {})
    if not isinstance(raw, dict):
        raise InvalidRequest('"statuses" must map item ids to {"status": ..., "reason": ...}.')
    _check_ids(list(raw), known)
    statuses: dict[str, tuple[Status, str | None]] = {}
    for item_id, value in raw.items():
        status = value.get("status") if isinstance(value, dict) else None
        if status not in STATUSES:
            raise InvalidRequest(f"Status of {item_id} must be one of {', '.join(STATUSES)}.")
        reason = _text(value.get("reason"), "reason", MAX_REASON, required=status == "deferred")
        statuses[item_id] = (cast(Status, status), reason if status == "deferred" else None)
    return order, statuses


def parse_new_item(body: Any) -> tuple[str, Source]:
    """`{"text": "...", "source": "clinician" | "patient" | "family"}`, checked."""
    if not isinstance(body, dict):
        raise InvalidRequest('Send a JSON object: {"text": "...", "source": "clinician"}.')
    text = _text(body.get("text"), "text", MAX_TEXT, required=True)
    source = body.get("source", "clinician")
    if source not in SOURCES:
        raise InvalidRequest(f'"source" must be one of {", ".join(SOURCES)}.')
    return cast(str, text), cast(Source, source)


def parse_merge(body: Any, agenda: list[AgendaItem]) -> tuple[str, str]:
    """`{"item": clinician item id, "into": patient or family item id}`, checked."""
    if not isinstance(body, dict):
        raise InvalidRequest('Send a JSON object: {"item": "...", "into": "..."}.')
    item, into = _find(agenda, body.get("item")), _find(agenda, body.get("into"))
    if item.source != "clinician" and not any(item.id == m.id for m in _merged(agenda)):
        raise InvalidRequest("Only a clinician item can be merged into another item.")
    if into.source == "clinician":
        raise InvalidRequest("Merge into a patient or family item.")
    return item.id, into.id


def parse_split(body: Any, agenda: list[AgendaItem]) -> str:
    """`{"item": id of a merged clinician item}`, checked."""
    item_id = body.get("item") if isinstance(body, dict) else None
    merged = {m.id for m in _merged(agenda)}
    if item_id not in merged:
        raise InvalidRequest('"item" must be a clinician item that is merged into another.')
    return cast(str, item_id)


def merged(draft: Draft, item: str, into: str) -> Draft:
    """The draft with `item` merged into `into` by hand."""
    return replace(draft, merges={**draft.merges, item: into}, splits=draft.splits - {item})


def split(draft: Draft, item: str) -> Draft:
    """The draft with `item` on its own line, never merged automatically again."""
    merges = {k: v for k, v in draft.merges.items() if k != item}
    return replace(draft, merges=merges, splits=draft.splits | {item})


def visit_json(visit: Visit) -> dict[str, Any]:
    """The whole visit, for `GET {base}/visit`."""
    preference = visit.preference
    return {
        "patient": {
            "id": visit.patient.id,
            "name": visit.patient.name,
            "birth_date": _iso(visit.patient.birth_date),
            "gender": visit.patient.gender,
        },
        "encounter": (
            {
                "id": visit.encounter.id,
                "status": visit.encounter.status,
                "reason": visit.encounter.reason,
                "start": visit.encounter.start,
            }
            if visit.encounter
            else None
        ),
        "need_patient_banner": visit.need_patient_banner,
        "number_one": item_json(visit.headline) if visit.headline else None,
        "no_current_concern": [
            {"said_by": a.author_display, "said_at": _iso(a.authored)}
            for a in visit.no_current_concern
        ],
        "partnering_preference": (
            {
                "style": preference.style,
                "style_display": preference.style_display,
                "learning_preferences": list(preference.learning_preferences),
                "text": preference.text,
                "source": preference.source,
                "recorded": _iso(preference.recorded),
                "recorded_by": preference.recorded_by,
            }
            if preference
            else None
        ),
        "agenda": [item_json(item) for item in visit.agenda],
        "draft": draft_json(visit.draft),
    }


def item_json(item: AgendaItem) -> dict[str, Any]:
    """One agenda item."""
    return {
        "id": item.id,
        "text": item.text,
        "source": item.source,
        "sources": list(item.sources),
        "said_by": item.said_by,
        "said_at": _iso(item.said_at),
        "number_one": item.number_one,
        "origin": item.origin,
        "reference": item.reference,
        "care_team_only": item.care_team_only,
        "merged": [item_json(m) for m in item.merged],
        "match_reason": item.match_reason,
        "status": item.status,
        "reason": item.reason,
    }


def added_json(added: AddedItem) -> dict[str, Any]:
    """An item just added, shaped like an agenda item."""
    return item_json(added_item(added))


def draft_json(saved: SavedDraft) -> dict[str, Any]:
    """When the draft was saved, and its version."""
    return {"version": saved.version, "updated_at": _iso(saved.updated_at)}


def _merged(agenda: list[AgendaItem]) -> list[AgendaItem]:
    return [m for item in agenda for m in item.merged]


def _find(agenda: list[AgendaItem], item_id: Any) -> AgendaItem:
    for item in [*agenda, *_merged(agenda)]:
        if item.id == item_id:
            return item
    raise InvalidRequest(f"No agenda item {str(item_id)[:80]!r} in this visit.")


def _check_ids(ids: list[str], known: set[str] | None) -> None:
    bad = [i for i in ids if not _ITEM_ID.match(i) or (known is not None and i not in known)]
    if bad:
        raise InvalidRequest(f"Unknown agenda item ids: {', '.join(b[:80] for b in bad[:5])}.")


def _text(value: Any, name: str, limit: int, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidRequest(f'"{name}" is required.')
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f'"{name}" must be text.')
    if len(value) > limit:
        raise InvalidRequest(f'"{name}" is {len(value)} characters; the limit is {limit}.')
    return value.strip()


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
