"""The agreed plan: what the clinician and the family decided, ready to write back.

Built by the app from the visit page; turned into FHIR resources by
`fhir_mappings.writeback`. Text is the person's and the clinician's own words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

When = Literal["now", "later"]


@dataclass(frozen=True, slots=True)
class PlanItem:
    """One agreed action: what, who, now or later, by when."""

    text: str
    owner: str | None  # who does it, in words ("Maya", "RT", "mom")
    when: When
    due: date | None


@dataclass(frozen=True, slots=True)
class PlanGoal:
    """An explicit goal, in the person's words."""

    text: str
    expressed_by: str | None = None  # "Patient/1" or "RelatedPerson/2"; default the patient


@dataclass(frozen=True, slots=True)
class AgendaOutcome:
    """What became of one agenda item (for the plan's narrative)."""

    text: str
    source: str  # patient | family | clinician
    status: str  # addressed | deferred
    reason: str | None
    care_team_only: bool = False  # a teen's words kept from their family


@dataclass(frozen=True, slots=True)
class PartneringNote:
    """How this person and family like to partner, as confirmed in the room."""

    style: str | None  # a code of Flip's partnering-style CodeSystem
    learning_preferences: tuple[str, ...]  # codes of Flip's learning-preference CodeSystem
    text: str | None  # free text: roles of the teen and the parent, etc.


@dataclass(frozen=True, slots=True)
class AgreedPlan:
    """Everything Flip writes to the chart for one visit."""

    plan_id: str  # Flip's id for this plan: every identifier written derives from it
    patient_id: str
    encounter_id: str | None
    practitioner_ref: str  # the signed-in user from fhirUser, e.g. "Practitioner/123"
    items: tuple[PlanItem, ...]
    goals: tuple[PlanGoal, ...]
    follow_up: str | None
    partnering_note: PartneringNote | None
    outcomes: tuple[AgendaOutcome, ...]
    something_else_asked: bool
    something_else_added: tuple[str, ...]
    visit_start: datetime  # timezone-aware
    finished_at: datetime  # timezone-aware
    # Earlier visits' Flip CarePlans still active ("CarePlan/9"): this plan replaces them,
    # so the chart holds one active Flip plan.
    replaces: tuple[str, ...] = ()
    # Goals of the last plan closed in this visit: ("Goal/12", "achieved" | "cancelled").
    closed_goals: tuple[tuple[str, str], ...] = ()
    # The name of the clinician who finished the plan, as the chart gives it.
    practitioner_display: str | None = None

    @property
    def private_words(self) -> tuple[str, ...]:
        """The words of care-team-only items: what carries them is labelled restricted."""
        return tuple(o.text for o in self.outcomes if o.care_team_only and o.text.strip())
