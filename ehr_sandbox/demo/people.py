"""The shape of the demo clinic's people: patients, their parents, clinicians, answers."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Diagnosis(Enum):
    """The conditions the clinic follows, as SNOMED CT concepts."""

    CYSTIC_FIBROSIS = ("190905008", "Cystic fibrosis")
    CROHNS_DISEASE = ("34000006", "Crohn's disease")
    ULCERATIVE_COLITIS = ("64766004", "Ulcerative colitis")

    @property
    def code(self) -> str:
        """The SNOMED CT code."""
        return self.value[0]

    @property
    def display(self) -> str:
        """The SNOMED CT display text."""
        return self.value[1]


@dataclass(frozen=True, slots=True)
class Clinician:
    """A member of the clinic's care team."""

    slug: str
    given: str
    family: str
    role: str  # as the EHR shows it: "Physician", "Respiratory therapist", ...
    prefix: str = ""


@dataclass(frozen=True, slots=True)
class Parent:
    """A parent or other family member who comes to visits (a RelatedPerson)."""

    given: str
    family: str
    gender: str
    # v3 RoleCode: MTH mother, FTH father, PRN parent, GRMTH grandmother...
    relationship: str


@dataclass(frozen=True, slots=True)
class Measurement:
    """One observation: `kind` is a key of OBSERVATION_KINDS, `days_ago` before today."""

    kind: str
    value: float
    days_ago: int = 0


@dataclass(frozen=True, slots=True)
class PreVisitAnswer:
    """One pre-visit QuestionnaireResponse: `by` 0 is the patient, n the story's n-th parent."""

    by: int
    days_ago: int  # authored at 19:30 local time, this many days before the visit
    concern: str | None = None  # the number ONE concern, in the person's own words
    no_concern: bool = False  # "I have no current concerns or goals"
    others: tuple[str, ...] = ()
    partnering: str | None = None  # a code of Flip's partnering-style CodeSystem
    learning: tuple[str, ...] = ()  # codes of Flip's learning-preference CodeSystem
    share_with_family: bool = True  # False: a teen keeps answers for the care team only
    language: str | None = None  # a BCP-47 code, when they chose one


@dataclass(frozen=True, slots=True)
class PatientStory:
    """One synthetic patient, their family, diagnosis and today's visit."""

    slug: str
    given: str
    family: str
    gender: str
    age_years: int
    age_months: int
    diagnosis: Diagnosis
    clinician: str  # slug of the Clinician the visit is booked with
    visit_time: str  # "HH:MM", local clinic time on the visit's day
    reason: str  # the clinician's words, as booked
    story: str  # why this person is in the demo (shown to testers, not in FHIR)
    parents: tuple[Parent, ...] = ()
    measurements: tuple[Measurement, ...] = ()
    previsit: tuple[PreVisitAnswer, ...] = ()  # none at all for some people
    # A US Core care experience preference already in the chart, in the clinician's words.
    care_preference: str | None = None
    city: str = "Lebanon"
    state: str = "NH"
    # 0: today (with an Encounter, checked in); 1: booked for tomorrow (no Encounter yet).
    visit_day: int = 0
