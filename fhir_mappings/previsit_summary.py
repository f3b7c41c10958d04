"""One patient's pre-visit answers at a glance: the clinic-day panel's row, the CDS card,
and the languages the visit page lists.

Pure: it takes the answers `fhir_mappings.previsit.read_answers` kept (latest per author,
newest first) and says who answered and when, the number one concern in their own words,
whether it is for the care team only, how they like to partner, and their language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from fhir_mappings.narrative import learning_words, style_words
from fhir_mappings.questionnaire import LANGUAGES
from fhir_mappings.visit_model import PreVisitAnswers

# The panel shows the first words of a concern; the whole text is one click away.
CONCERN_PREVIEW_CHARS = 80


@dataclass(frozen=True, slots=True)
class Answered:
    """One person who answered: how Flip names them, and when."""

    who: str  # "Maya" or "mom"
    is_family: bool
    when: datetime | None


@dataclass(frozen=True, slots=True)
class Language:
    """A language someone chose, in its own name, and whether the visit needs an interpreter."""

    who: str
    name: str
    interpreter: bool


@dataclass(frozen=True, slots=True)
class PrevisitSummary:
    """What the care team needs to know of one patient's answers before the visit."""

    answered: tuple[Answered, ...]
    concern: str | None  # the number one concern, in the words of whoever said it
    concern_by: str | None
    care_team_only: bool  # the concern (or another answer) is not to be shared with family
    no_current_concern: bool  # they answered, and said they have no current concern
    # Who said "no current concern" while another gave one (the patient, under mom's).
    no_concern_from: tuple[str, ...]
    style: str | None  # the partnering style in words
    learning: str | None  # learning preferences in words
    languages: tuple[Language, ...]

    @property
    def has_answers(self) -> bool:
        """True when the patient or someone in the family has answered."""
        return bool(self.answered)

    @property
    def concern_preview(self) -> str | None:
        """The concern's first ~80 characters, cut at a word, with an ellipsis when cut."""
        return preview(self.concern) if self.concern else None

    @property
    def needs_interpreter(self) -> bool:
        """True when someone chose a language other than the clinic's."""
        return any(language.interpreter for language in self.languages)


def summarize(answers: tuple[PreVisitAnswers, ...], clinic_language: str) -> PrevisitSummary:
    """The summary of one patient's answers: the patient's own words first, then family's."""
    # The patient's own number one concern heads the visit (DOMAIN.md); the family's next.
    ordered = sorted(answers, key=lambda a: a.is_family)
    said = next((a for a in ordered if a.number_one_concern), None)
    styled = next((a for a in ordered if a.partnering_style), None)
    learning = next((a for a in ordered if a.learning_preferences), None)
    return PrevisitSummary(
        answered=tuple(Answered(a.author_display, a.is_family, a.authored) for a in answers),
        concern=None if said is None else said.number_one_concern,
        concern_by=None if said is None else said.author_display,
        care_team_only=any(not a.share_with_family for a in answers),
        no_current_concern=said is None and any(a.no_current_concern for a in answers),
        no_concern_from=()
        if said is None
        else tuple(a.author_display for a in ordered if a.no_current_concern),
        style=(
            None
            if styled is None or not styled.partnering_style
            else style_words(styled.partnering_style)
        ),
        learning=None if learning is None else learning_words(learning.learning_preferences),
        languages=languages(answers, clinic_language),
    )


def languages(answers: Iterable[PreVisitAnswers], clinic_language: str) -> tuple[Language, ...]:
    """Who chose which language, in its own name, and whether it needs an interpreter."""
    return tuple(
        Language(
            a.author_display,
            LANGUAGES.get(a.language, a.language),
            not same_language(a.language, clinic_language),
        )
        for a in answers
        if a.language
    )


def preview(text: str, limit: int = CONCERN_PREVIEW_CHARS) -> str:
    """`text` as one line of at most about `limit` characters, cut at a word."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0] if " " in line[:limit] else line[:limit]
    return f"{cut.rstrip(' ,.;:')}…"


def same_language(language: str, other: str) -> bool:
    """True when two BCP-47 tags name one language."""
    # "es-MX" is Spanish: compare the primary language subtags.
    return language.split("-")[0].lower() == other.split("-")[0].lower()
