"""Drafts: the agenda changes of one visit, saved on every change.

One visit has one agenda, shared by its care team: the nurse's rooming item is on the
physician's agenda too, with its order, statuses and the closing form. Only the private
reflection is each clinician's own (a row of its own per user). Each change is a
read-modify-write under a row lock, so two clinicians (or two tabs) editing the same visit
never lose each other's edits. Drafts hold what clinicians typed: sealed at rest.

A draft no configured key opens (sealed under a key since dropped) is not a dead end: the
visit opens from the chart alone, says the saved draft could not be opened, and the next
change starts a fresh draft in its place.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from smart_app.core.db import db
from smart_app.core.models import VisitDraft
from smart_app.core.validation import InvalidRequest
from smart_app.core.vault import SealBroken, Vault
from smart_app.visit.agenda import AddedItem, Draft, Source, Status

log = logging.getLogger(__name__)

# A draft's caps, so one visit's draft stays small enough to open fast: items added during
# the visit (each at most 2000 characters, docs/openapi.yaml), and statuses kept.
MAX_ADDED_ITEMS = 100
MAX_STATUSES = 500


class DraftFull(InvalidRequest):
    """The change would take the draft past one of its caps; nothing is stored."""


# The `user_ref` of a visit's shared agenda row (a fhirUser is always `Type/id`).
VISIT_WIDE = "*"


@dataclass(frozen=True, slots=True)
class DraftKey:
    """Which visit, and who is editing it: the visit's agenda is shared by everyone who
    opens it; `user_ref` keeps the private reflection and says who changed or finished."""

    iss: str
    patient: str
    encounter: str
    user_ref: str

    @property
    def plan_id(self) -> str:
        """The plan's id: one visit is one plan (written exactly once), whoever of its care
        team finishes it; the next visit reads the chart without it (`own_plan_id`)."""
        name = f"flip-plan|{self.iss}|{self.patient}|{self.encounter}"
        return str(uuid.uuid5(uuid.NAMESPACE_URL, name))

    @property
    def shared(self) -> DraftKey:
        """The key of the visit's shared agenda."""
        return replace(self, user_ref=VISIT_WIDE)


@dataclass(frozen=True, slots=True)
class SavedDraft:
    """A draft and when it was last saved."""

    draft: Draft
    version: int
    updated_at: datetime | None
    # The stored draft could not be opened (no configured key fits): `draft` is empty.
    unreadable: bool = False


class DraftStore:
    """Loads and changes drafts in the database."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def load(self, key: DraftKey) -> SavedDraft:
        """The visit's shared draft with this user's own reflection, or an empty one."""
        with db.session() as session:  # both rows in one query: one page, one view
            rows = {row.user_ref: row for row in session.scalars(_query(key, also=VISIT_WIDE))}
        shared = self._opened(rows.get(VISIT_WIDE))
        own = self._opened(rows.get(key.user_ref))
        if shared.version == 0 and own.version > 0:
            # A draft saved before agendas were shared is this user's: it starts the shared one.
            return own
        return replace(shared, draft=replace(shared.draft, reflection=own.draft.reflection))

    def _load_row(self, key: DraftKey) -> SavedDraft:
        with db.session() as session:
            return self._opened(session.scalars(_query(key)).first())

    def _opened(self, row: VisitDraft | None) -> SavedDraft:
        if row is None:
            return SavedDraft(Draft(), 0, None)
        try:
            draft = _from_json(self._vault.open(row.sealed_state))
        except SealBroken:
            log.warning("draft %d cannot be opened with the configured keys", row.id)
            return SavedDraft(Draft(), row.version, row.updated_at, unreadable=True)
        return SavedDraft(draft, row.version, row.updated_at)

    def change(self, key: DraftKey, edit: Callable[[Draft], Draft]) -> SavedDraft:
        """Apply `edit` to the visit's shared draft atomically and save the result."""
        # A shared agenda starts from this user's draft saved before agendas were shared,
        # without its private reflection.
        return self._change(
            key.shared, edit, start=lambda: replace(self._load_row(key).draft, reflection=None)
        )

    def change_private(self, key: DraftKey, edit: Callable[[Draft], Draft]) -> SavedDraft:
        """Apply `edit` to this user's own draft (the private reflection)."""
        return self._change(key, edit, start=Draft)

    def _change(
        self, key: DraftKey, edit: Callable[[Draft], Draft], *, start: Callable[[], Draft]
    ) -> SavedDraft:
        for _attempt in range(3):
            try:
                return self._change_once(key, edit, start)
            except IntegrityError:
                continue  # another tab created the row first: edit that one
        return self._change_once(key, edit, start)

    def _change_once(
        self, key: DraftKey, edit: Callable[[Draft], Draft], start: Callable[[], Draft]
    ) -> SavedDraft:
        with db.write_locked_session() as session:
            row = session.scalars(_query(key).with_for_update()).first()
            now = datetime.now(UTC)
            current = self._open(row) if row else start()
            changed = edit(current)
            sealed = self._vault.seal(_to_json(changed))
            if row is None:
                row = VisitDraft(
                    iss=key.iss,
                    patient=key.patient,
                    encounter=key.encounter,
                    user_ref=key.user_ref,
                    sealed_state=sealed,
                    version=1,
                    updated_at=now,
                )
                session.add(row)
                session.flush()
            else:
                row.sealed_state = sealed
                row.version += 1
                row.updated_at = now
            return SavedDraft(changed, row.version, now)

    def _open(self, row: VisitDraft) -> Draft:
        try:
            return _from_json(self._vault.open(row.sealed_state))
        except SealBroken:
            # The page already said the saved draft could not be opened: this change is
            # the first of a fresh one (no key Flip has can ever read the old one).
            log.warning("draft %d cannot be opened; a fresh draft replaces it", row.id)
            return Draft()


def new_item_id() -> str:
    """An id for an item added during the visit."""
    return f"add-{secrets.token_hex(6)}"


def with_added(
    draft: Draft, text: str, source: Source, by: str | None = None
) -> tuple[Draft, AddedItem]:
    """The draft with one more item (added `by` a clinician), and that item; DraftFull
    past MAX_ADDED_ITEMS."""
    if len(draft.added) >= MAX_ADDED_ITEMS:
        raise DraftFull(
            f"This visit's agenda already has {MAX_ADDED_ITEMS} added items, the most Flip "
            "keeps; this one was not added."
        )
    item = AddedItem(new_item_id(), text, source, datetime.now(UTC), added_by=by)
    return replace(draft, added=(*draft.added, item)), item


def with_order_and_statuses(
    draft: Draft,
    order: list[str] | None,
    statuses: dict[str, tuple[Status, str | None]],
    by: str | None = None,
) -> Draft:
    """The draft with a new order (when given) and these statuses set, `by` a clinician;
    DraftFull past caps."""
    merged = {**draft.statuses, **statuses}
    changed_by = {**draft.changed_by, **({k: by for k in statuses} if by else {})}
    if len(merged) > MAX_STATUSES:
        raise DraftFull(
            f"This visit's draft would keep the status of {len(merged)} items; the most is "
            f"{MAX_STATUSES}. Nothing was saved."
        )
    return replace(
        draft,
        order=tuple(order) if order is not None else draft.order,
        statuses=merged,
        changed_by=changed_by,
    )


def _query(key: DraftKey, *, also: str | None = None) -> Any:
    """The key's row; with `also`, that user's row of the same visit too."""
    users = VisitDraft.user_ref == key.user_ref
    if also is not None:
        users = or_(users, VisitDraft.user_ref == also)
    return select(VisitDraft).where(
        VisitDraft.iss == key.iss,
        VisitDraft.patient == key.patient,
        VisitDraft.encounter == key.encounter,
        users,
    )


def _to_json(draft: Draft) -> dict[str, Any]:
    return {
        "order": list(draft.order),
        "statuses": {k: list(v) for k, v in draft.statuses.items()},
        "added": [
            {
                "id": a.id,
                "text": a.text,
                "source": a.source,
                "added_at": a.added_at.isoformat(),
                "added_by": a.added_by,
            }
            for a in draft.added
        ],
        "merges": dict(draft.merges),
        "changed_by": dict(draft.changed_by),
        "splits": sorted(draft.splits),
        "plan_form": draft.plan_form,
        "sent_form": draft.sent_form,
        "reflection": draft.reflection,
    }


def _from_json(value: dict[str, Any]) -> Draft:
    return Draft(
        order=tuple(value.get("order", ())),
        statuses={k: (v[0], v[1]) for k, v in value.get("statuses", {}).items()},
        added=tuple(
            AddedItem(
                id=a["id"],
                text=a["text"],
                source=a["source"],
                added_at=datetime.fromisoformat(a["added_at"]),
                added_by=a.get("added_by"),
            )
            for a in value.get("added", ())
        ),
        merges=dict(value.get("merges", {})),
        changed_by=dict(value.get("changed_by", {})),
        splits=frozenset(value.get("splits", ())),
        plan_form=value.get("plan_form"),
        sent_form=value.get("sent_form"),
        reflection=value.get("reflection"),
    )
