"""The flip: the patient's items first, then the family's, then the clinician's.

Pure logic, no Flask and no database. The agenda is rebuilt from what the chart says
(VisitInputs) and the clinician's draft (order, statuses, added items, merges and
splits), so a reload or a relaunch shows the same agenda, and new pre-visit answers that
arrive later still find their place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from fhir_mappings.visit_model import ClinicianItem, PreVisitAnswers, VisitInputs

Source = Literal["patient", "family", "clinician"]
Status = Literal["open", "addressed", "deferred"]
STATUSES: tuple[Status, ...] = ("open", "addressed", "deferred")
SOURCES: tuple[Source, ...] = ("patient", "family", "clinician")
# Two shared content words make a match: one ("clinic", "cf") is too often chance.
MATCH_MIN_SHARED_WORDS = 2
# The agenda shows at most this many other concerns of one person; the page says how many
# more their answers hold ("n more", `more_concerns`), so a huge answer cannot drown it.
MAX_OTHER_CONCERNS = 10
_STOPWORDS_TEXT = """
a an and are as at be been but by can do does for from had has have her his i if in into
is it its me my no not of on or our she so that the their them then there they this to up
was we were what when will with you your about any how im ive just more some too very
want wants would like get going worried worry concern concerns
"""
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@dataclass(frozen=True, slots=True)
class AgendaItem:
    """One line of the visit agenda."""

    id: str
    text: str
    source: Source
    said_by: str | None  # "Maya", "mom"; None for the clinician's own items
    said_at: datetime | None
    number_one: bool = False
    origin: str = "previsit"  # previsit | added | last-plan-activity | encounter-reason ...
    reference: str | None = None  # the FHIR resource it came from
    care_team_only: bool = False  # a teen asked not to share this with family
    merged: tuple[AgendaItem, ...] = ()  # clinician items shown once, here
    match_reason: str | None = None
    status: Status = "open"
    reason: str | None = None  # why deferred
    # Who of the care team last set its status, or added it (fhirUser, "Practitioner/7").
    changed_by: str | None = None
    # The same line of the person's earlier answers (id, words), newest first.
    earlier: tuple[tuple[str, str], ...] = ()
    # The words its status was set on, when the person has since sent other words.
    status_set_on: str | None = None

    @property
    def sources(self) -> tuple[Source, ...]:
        """Every source this line speaks for (merged items add theirs)."""
        found = [self.source, *(m.source for m in self.merged)]
        return tuple(s for s in SOURCES if s in found)


@dataclass(frozen=True, slots=True)
class AddedItem:
    """An item the clinician typed during the visit."""

    id: str
    text: str
    source: Source
    added_at: datetime
    added_by: str | None = None  # fhirUser of the clinician who added it


@dataclass(frozen=True, slots=True)
class Draft:
    """The clinician's changes to the agenda of one encounter."""

    order: tuple[str, ...] = ()
    statuses: Mapping[str, tuple[Status, str | None]] = field(default_factory=dict)
    added: tuple[AddedItem, ...] = ()
    merges: Mapping[str, str] = field(default_factory=dict)  # clinician item id -> into id
    changed_by: Mapping[str, str] = field(default_factory=dict)  # item id -> who set its status
    splits: frozenset[str] = frozenset()  # clinician item ids never to auto-merge
    # The plan form as last sent, so a refused plan (open items, bad input) is not lost.
    plan_form: Mapping[str, Any] | None = None
    # The plan form as last finished (handed to the outbox): a later change is not sent yet.
    sent_form: Mapping[str, Any] | None = None
    # The clinician's private end-of-visit reflection: kept here, never written to the chart.
    reflection: Mapping[str, Any] | None = None


def build_agenda(inputs: VisitInputs, draft: Draft | None = None) -> list[AgendaItem]:
    """The flipped agenda: patient, family, then clinician; merged, ordered and tracked."""
    own = _previsit_items(inputs.answers)
    draft, status_set_on = _follow_new_answers(draft or Draft(), own)
    own += [added_item(a) for a in draft.added if a.source != "clinician"]
    clinician = [_clinician_item(c) for c in inputs.clinician_items]
    clinician += [added_item(a) for a in draft.added if a.source == "clinician"]
    merged = _merge(own, clinician, draft)
    ordered = _apply_order(merged, draft.order)
    return [
        replace(_apply_status(item, draft), status_set_on=status_set_on.get(item.id))
        for item in ordered
    ]


def _follow_new_answers(draft: Draft, own: list[AgendaItem]) -> tuple[Draft, dict[str, str]]:
    # A person who sends new answers mid-visit replaces their earlier ones (the latest per
    # person counts). What the draft says of a line of the earlier answers (its status and
    # reason, its place, a merge into it) moves to the same line of the new ones, until the
    # clinician sets that line's status again. Returned too: the earlier words of each line
    # whose status moved to other words, so the page can say so.
    known = {*draft.statuses, *draft.order, *draft.merges.values()}
    renames: dict[str, str] = {}
    status_set_on: dict[str, str] = {}
    for item in own:
        if item.id in known:
            continue
        for earlier_id, words in item.earlier:
            if earlier_id in known:
                renames[earlier_id] = item.id
                if earlier_id in draft.statuses and words != item.text:
                    status_set_on[item.id] = words
                break
    if not renames:
        return draft, status_set_on

    def new(item_id: str) -> str:
        return renames.get(item_id, item_id)

    moved = replace(
        draft,
        order=tuple(new(i) for i in draft.order),
        statuses={new(k): v for k, v in draft.statuses.items()},
        changed_by={new(k): v for k, v in draft.changed_by.items()},
        merges={k: new(v) for k, v in draft.merges.items()},
    )
    return moved, status_set_on


def more_concerns(answers: Sequence[PreVisitAnswers]) -> list[tuple[str, int]]:
    """Who listed more other concerns than the agenda shows, and how many more."""
    return [
        (a.author_display, len(a.other_concerns) - MAX_OTHER_CONCERNS)
        for a in answers
        if len(a.other_concerns) > MAX_OTHER_CONCERNS
    ]


def explain_match(left: str, right: str) -> str | None:
    """Why two items are the same topic ("both mention: weight, gain"), or None."""
    shared = sorted(content_words(left) & content_words(right))
    if len(shared) < MATCH_MIN_SHARED_WORDS:
        return None
    return "both mention: " + ", ".join(shared)


def content_words(text: str) -> frozenset[str]:
    """Normalised words that carry meaning: lower case, no stopwords, crude singular."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return frozenset(_singular(w) for w in words if w not in _STOPWORDS and len(w) > 1)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _previsit_items(answers: Sequence[PreVisitAnswers]) -> list[AgendaItem]:
    # The patient's own words first (clinicians were criticised for talking to the parent
    # and not the teen), then each family member's, in the order they answered.
    patient = [a for a in answers if not a.is_family]
    family = [a for a in answers if a.is_family]
    items: list[AgendaItem] = []
    for answer in [*patient, *family]:
        source: Source = "family" if answer.is_family else "patient"
        care_team_only = not answer.share_with_family
        earlier = [(e.response_id, _lines(e)) for e in answer.earlier]
        for suffix, text in _lines(answer).items():
            items.append(
                AgendaItem(
                    id=f"pv-{answer.response_id}-{suffix}",
                    text=text,
                    source=source,
                    said_by=answer.author_display,
                    said_at=answer.authored,
                    number_one=suffix == "number-one" and source == "patient",
                    reference=f"QuestionnaireResponse/{answer.response_id}",
                    care_team_only=care_team_only,
                    earlier=tuple(
                        (f"pv-{rid}-{suffix}", lines[suffix])
                        for rid, lines in earlier
                        if suffix in lines
                    ),
                )
            )
    return items


def _lines(answer: PreVisitAnswers) -> dict[str, str]:
    # The agenda lines of one person's answers by the end of their id: the number one
    # concern, then each other concern.
    lines = {"number-one": answer.number_one_concern} if answer.number_one_concern else {}
    others = answer.other_concerns[:MAX_OTHER_CONCERNS]
    return lines | {f"other-{i}": t for i, t in enumerate(others) if t}


def _clinician_item(item: ClinicianItem) -> AgendaItem:
    return AgendaItem(
        id="cl-" + re.sub(r"[^A-Za-z0-9_-]", "-", item.key),
        text=item.text,
        source="clinician",
        said_by=None,
        said_at=None,
        origin=item.origin,
        reference=item.reference,
    )


def added_item(added: AddedItem) -> AgendaItem:
    """An item typed during the visit, as an agenda line."""
    return AgendaItem(
        id=added.id,
        text=added.text,
        source=added.source,
        said_by=None,
        said_at=added.added_at,
        origin="added",
        changed_by=added.added_by,
    )


def _merge(own: list[AgendaItem], clinician: list[AgendaItem], draft: Draft) -> list[AgendaItem]:
    by_id = {item.id: item for item in own}
    attached: dict[str, list[tuple[AgendaItem, str]]] = {item.id: [] for item in own}
    remaining: list[AgendaItem] = []
    for item in clinician:
        target = draft.merges.get(item.id)
        if target in by_id:
            attached[target].append((item, "merged by the clinician"))
            continue
        match = None if item.id in draft.splits else _best_match(item, own)
        if match is None:
            remaining.append(item)
        else:
            attached[match[0].id].append((item, match[1]))
    result = [
        replace(
            item,
            # Each merged item says why it is here; the line says it for all of them.
            merged=tuple(replace(m, match_reason=r) for m, r in attached[item.id]),
            match_reason="; ".join(r for _, r in attached[item.id]) or None,
        )
        for item in own
    ]
    return result + remaining


def _best_match(
    item: AgendaItem, candidates: Iterable[AgendaItem]
) -> tuple[AgendaItem, str] | None:
    # Deterministic: the candidate sharing the most content words wins; ties go to the
    # one earlier in the agenda (the patient's before the family's).
    best: tuple[int, AgendaItem, str] | None = None
    for candidate in candidates:
        reason = explain_match(candidate.text, item.text)
        if reason is None:
            continue
        score = len(content_words(candidate.text) & content_words(item.text))
        if best is None or score > best[0]:
            best = (score, candidate, reason)
    return None if best is None else (best[1], best[2])


def _apply_order(items: list[AgendaItem], order: Sequence[str]) -> list[AgendaItem]:
    if not order:
        return items
    rank = {item_id: i for i, item_id in enumerate(order)}
    placed = sorted((item for item in items if item.id in rank), key=lambda i: rank[i.id])
    result = list(placed)
    # Items the draft has never seen (a late answer, an un-merged item) keep their place
    # relative to the flip's default order: right after their default predecessor.
    for index, item in enumerate(items):
        if item.id in rank:
            continue
        predecessors = {i.id for i in items[:index]}
        position = max(
            (n + 1 for n, placed_item in enumerate(result) if placed_item.id in predecessors),
            default=0,
        )
        result.insert(position, item)
    return result


def _apply_status(item: AgendaItem, draft: Draft) -> AgendaItem:
    status, reason = draft.statuses.get(item.id, ("open", None))
    by = draft.changed_by.get(item.id, item.changed_by)
    return replace(item, status=status, reason=reason, changed_by=by)
