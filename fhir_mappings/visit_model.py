"""The visit model: what Flip reads from the chart before a visit, free of FHIR shapes.

The mappings in this package produce these; the flip (smart_app/visit/agenda.py) orders them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum


class Respondent(Enum):
    """Who answered the pre-visit questions (the Questionnaire's `respondent` item)."""

    PATIENT = "patient"
    PARENT = "parent"  # parent or guardian
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class PreVisitAnswers:
    """One respondent's latest pre-visit QuestionnaireResponse, in their own words."""

    response_id: str  # QuestionnaireResponse.id
    author: str  # "Patient/123" or "RelatedPerson/456"
    author_display: str  # how Flip names them: "Maya" or "mom", never paraphrased text
    respondent: Respondent
    authored: datetime | None
    number_one_concern: str | None
    no_current_concern: bool
    other_concerns: tuple[str, ...]
    partnering_style: str | None  # a code of Flip's partnering-style CodeSystem
    learning_preferences: tuple[str, ...]  # codes of Flip's learning-preference CodeSystem
    language: str | None  # a BCP-47 code, when given
    share_with_family: bool  # False: a teen keeps answers for the care team only
    # The same person's earlier answers these replace (read in the same window), newest
    # first: the clinician's status on a line of them moves to the same line here.
    earlier: tuple[PreVisitAnswers, ...] = ()

    @property
    def is_family(self) -> bool:
        """True when a parent or someone other than the patient answered."""
        return self.respondent is not Respondent.PATIENT


@dataclass(frozen=True, slots=True)
class PartneringPreference:
    """How the person likes to partner in their care, from its most recent source."""

    style: str | None  # partnering-style code
    style_display: str | None  # the CodeSystem's words for it
    learning_preferences: tuple[str, ...]
    text: str | None  # free text (an Observation's valueString, a note's words)
    source: str  # "questionnaire" | "observation" | "note"
    recorded: datetime | None
    recorded_by: str | None  # display of who gave or wrote it
    recorded_role: str | None = None  # "patient" | "family member" | "clinician", in words


@dataclass(frozen=True, slots=True)
class ClinicianItem:
    """One item on the clinician's agenda, with the resource it came from."""

    key: str  # stable across reloads, e.g. "CarePlan/9#activity-2" or "Encounter/5#reason-0"
    text: str
    # "last-plan-activity" | "last-plan-deferred" | "last-plan-goal" | "encounter-reason"
    # | "appointment-reason"
    origin: str
    reference: str  # "CarePlan/9", "Goal/3", "Encounter/5", "Appointment/7"
    codes: frozenset[str]  # "system|code" of any coded concept, for matching


@dataclass(frozen=True, slots=True)
class VisitInputs:
    """Everything read from the chart for one visit's agenda."""

    answers: tuple[PreVisitAnswers, ...]  # latest per respondent, newest first
    preference: PartneringPreference | None
    clinician_items: tuple[ClinicianItem, ...]
    skipped: int  # resources skipped as malformed or unexpected (reasons are logged)
    invalid: int = 0  # of them, those that are no valid R4 resource: the page says so
    # When the last plan was agreed (answers before it were that visit's), if there is one.
    last_plan_at: datetime | None = None
