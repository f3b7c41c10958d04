"""Editing the agenda: each change to a launch's draft, checked and saved in one call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smart_app.session.launches import OpenLaunch
from smart_app.visit import api
from smart_app.visit.agenda import Draft
from smart_app.visit.drafts import DraftStore, SavedDraft, with_added, with_order_and_statuses
from smart_app.visit.reader import VisitReaders


@dataclass(frozen=True, slots=True)
class AgendaEditor:
    """Saves the clinician's agenda changes of one launch (order, statuses, items, merges)."""

    readers: VisitReaders
    drafts: DraftStore

    def save_order_and_statuses(self, opened: OpenLaunch, body: Any) -> SavedDraft:
        """Save the agenda's order and statuses."""
        # Ids are checked for shape only: saving must not cost a round trip to the EHR, and
        # an id the agenda no longer has is simply ignored when the agenda is built.
        order, statuses = api.parse_agenda_update(body)
        by = opened.context.fhir_user_reference
        return self._change(
            opened, lambda draft: with_order_and_statuses(draft, order, statuses, by)
        )

    def add_item(self, opened: OpenLaunch, body: Any) -> dict[str, Any]:
        """Add an item (the clinician may add at any time): the item, the saved draft, and
        the line it joined when it is the same topic as a patient's or family's."""
        text, source = api.parse_new_item(body)
        added = []

        def add(draft: Draft) -> Draft:
            changed, item = with_added(draft, text, source, opened.context.fhir_user_reference)
            added.append(item)
            return changed

        saved = self._change(opened, add)
        item = api.added_json(added[0])
        joined = self._line_holding(opened, item["id"]) if source == "clinician" else None
        return {"item": item, "draft": api.draft_json(saved), "merged_into": joined}

    def _line_holding(self, opened: OpenLaunch, item_id: str) -> dict[str, Any] | None:
        # The agenda as the next load shows it (the kept chart read, the draft just saved).
        reader = self.readers.for_launch(opened)
        for line in reader.load(reuse=reader.reuse_for).agenda:
            for merged in line.merged:
                if merged.id == item_id:
                    return {"id": line.id, "text": line.text, "match_reason": merged.match_reason}
        return None

    def merge(self, opened: OpenLaunch, body: Any) -> SavedDraft:
        """Show a clinician item once, at a patient or family item's place."""
        reader = self.readers.for_launch(opened)
        item, into = api.parse_merge(body, reader.load(reuse=reader.reuse_for).agenda)
        return self._change(opened, lambda draft: api.merged(draft, item, into))

    def split(self, opened: OpenLaunch, body: Any) -> SavedDraft:
        """Show a merged clinician item on its own line again."""
        reader = self.readers.for_launch(opened)
        item = api.parse_split(body, reader.load(reuse=reader.reuse_for).agenda)
        return self._change(opened, lambda draft: api.split(draft, item))

    def _change(self, opened: OpenLaunch, edit: Any) -> SavedDraft:
        return self.drafts.change(self.readers.for_launch(opened).draft_key(), edit)
