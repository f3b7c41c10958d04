"""What the visit page shows: the Visit the reader builds from one chart read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from fhir_mappings.patient import EncounterSummary, PatientSummary
from fhir_mappings.previsit_summary import Language, languages
from fhir_mappings.visit_model import PartneringPreference, PreVisitAnswers
from smart_app.visit.agenda import AgendaItem, more_concerns
from smart_app.visit.drafts import SavedDraft

# What a page names when the EHR refuses a read, or a read stops early, in the care
# team's words.
READ_WORDS = {
    "Appointment": "the day's appointments",
    "Encounter": "the encounter",
    "Patient": "patients' names and ages",
    "QuestionnaireResponse": "pre-visit answers",
    "RelatedPerson": "family members",
    "Observation": "recorded partnering preferences",
    "DocumentReference": "partnering notes",
    "CarePlan": "last plans",
    "Goal": "last plans' goals",
    "Practitioner": "the list of practitioners",
    "Location": "the list of locations",
}


def read_words(kinds: Iterable[str]) -> tuple[str, ...]:
    """The care team's words for these resource types (refused or cut short), each once."""
    return tuple(dict.fromkeys(READ_WORDS.get(kind, kind) for kind in kinds))


@dataclass(frozen=True, slots=True)
class PartneringHistory:
    """A patient's partnering notes and preferences over time, newest first."""

    patient: PatientSummary
    preferences: list[PartneringPreference]
    # What the chart holds more of than Flip reads at once, in words.
    cut_short: tuple[str, ...] = ()
    # What the EHR would not let Flip read, in words: "none yet" would not be true.
    refused: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Visit:
    """What the visit page shows."""

    patient: PatientSummary
    encounter: EncounterSummary | None
    need_patient_banner: bool
    answers: tuple[PreVisitAnswers, ...]
    preference: PartneringPreference | None
    agenda: list[AgendaItem]
    draft: SavedDraft
    visit_start: datetime
    clinic_language: str = "en"
    # What the EHR would not let Flip read, in words: never shown as "nothing there".
    refused: tuple[str, ...] = ()
    # What the chart holds more of than Flip reads at once (searches.MAX_PAGES), in words.
    cut_short: tuple[str, ...] = ()
    # The signed-in clinician, and the names of the care team who changed the agenda, as
    # the chart gives them ("Practitioner/7" -> "Ari Nguyen").
    user_ref: str | None = None
    names: Mapping[str, str] = field(default_factory=dict)
    # Earlier visits' Flip CarePlans still active: this visit's plan replaces them.
    earlier_plans: tuple[str, ...] = ()
    # Resources of the chart Flip could not read: no valid R4 (the page says so).
    skipped: int = 0
    # When the chart shown was read; and, when the EHR did not answer just now, what it
    # met ("HTTP 503"): the page shows the launch's last read and says so.
    read_at: datetime | None = None
    chart_unavailable: str | None = None

    @property
    def patient_no_current_concern(self) -> PreVisitAnswers | None:
        """The patient's own "no current concern": it heads the visit, above the family's."""
        return next((a for a in self.no_current_concern if not a.is_family), None)

    @property
    def family_no_current_concern(self) -> tuple[PreVisitAnswers, ...]:
        """Family members who said they have no current concern."""
        return tuple(a for a in self.no_current_concern if a.is_family)

    @property
    def languages(self) -> tuple[Language, ...]:
        """Who chose which language, in its own name, and whether it needs an interpreter."""
        return languages(self.answers, self.clinic_language)

    @property
    def user_name(self) -> str | None:
        """The signed-in clinician's name, where the chart gives it."""
        return self.names.get(self.user_ref or "")

    def who(self, ref: str | None) -> str | None:
        """Who of the care team `ref` is, in words: "you", their name, or "a colleague"."""
        if not ref:
            return None
        return "you" if ref == self.user_ref else self.names.get(ref, "a colleague")

    @property
    def last_plan_goals(self) -> list[AgendaItem]:
        """The Goals that came back from the last plan (merged into another line or not),
        which this visit can close."""
        every = [*self.agenda, *(m for item in self.agenda for m in item.merged)]
        return [
            item
            for item in every
            if item.origin == "last-plan-goal" and (item.reference or "").startswith("Goal/")
        ]

    @property
    def more_concerns(self) -> list[tuple[str, int]]:
        """Who listed more concerns than the agenda shows, and how many more."""
        return more_concerns(self.answers)

    @property
    def headline(self) -> AgendaItem | None:
        """The number-one concern to show first: the patient's own, else the family's."""
        own = [i for i in self.agenda if i.number_one]
        said = own or [i for i in self.agenda if i.origin == "previsit"]
        return said[0] if said else None

    @property
    def no_current_concern(self) -> tuple[PreVisitAnswers, ...]:
        """Respondents who said they have no current concern (a valid answer)."""
        return tuple(a for a in self.answers if a.no_current_concern)
