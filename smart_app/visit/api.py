"""The agenda API's bodies as the draft keeps them, and its JSON answers.

Bodies arrive checked against docs/openapi.yaml (smart_app/core/request_schemas.py): what
is left here is what only the agenda can tell, such as whether an item id is on it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from smart_app.core.validation import InvalidRequest
from smart_app.visit.agenda import (
    AddedItem,
    AgendaItem,
    Draft,
    Source,
    Status,
    added_item,
)
from smart_app.visit.drafts import SavedDraft
from smart_app.visit.visit import Visit


def parse_agenda_update(
    body: dict[str, Any],
) -> tuple[list[str] | None, dict[str, tuple[Status, str | None]]]:
    """`{"order": [ids], "statuses": {id: {"status", "reason"}}}` as the draft keeps it."""
    statuses: dict[str, tuple[Status, str | None]] = {
        item_id: (value["status"], _reason(value))
        for item_id, value in body.get("statuses", {}).items()
    }
    return body.get("order"), statuses


def _reason(change: dict[str, Any]) -> str | None:
    # Only a deferral keeps its reason (the schema asks for one there).
    return str(change["reason"]).strip() if change["status"] == "deferred" else None


def parse_new_item(body: dict[str, Any]) -> tuple[str, Source]:
    """`{"text": "...", "source": "clinician" | "patient" | "family"}` as the draft keeps it."""
    return body["text"].strip(), body.get("source", "clinician")


def parse_merge(body: dict[str, Any], agenda: list[AgendaItem]) -> tuple[str, str]:
    """`{"item": clinician item id, "into": patient or family item id}`, both on the agenda."""
    item, into = _find(agenda, body["item"]), _find(agenda, body["into"])
    if item.source != "clinician" and not any(item.id == m.id for m in _merged(agenda)):
        raise InvalidRequest("Only a clinician item can be merged into another item.")
    if into.source == "clinician":
        raise InvalidRequest("Merge into a patient or family item.")
    return item.id, into.id


def parse_split(body: dict[str, Any], agenda: list[AgendaItem]) -> str:
    """`{"item": id of a merged clinician item}`, merged on this agenda."""
    item_id: str = body["item"]
    if item_id not in {m.id for m in _merged(agenda)}:
        raise InvalidRequest("item: must be a clinician item that is merged into another.")
    return item_id


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
        "not_readable": list(visit.refused),
        "cut_short": list(visit.cut_short),
        "skipped": visit.skipped,
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
        "changed_by": item.changed_by,
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
    raise InvalidRequest(f"No agenda item {item_id!r} in this visit.")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
