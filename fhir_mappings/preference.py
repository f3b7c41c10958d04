"""The partnering preference: the most recent of its three sources in the chart.

1. The newest pre-visit answer that gives a partnering style or learning preferences (the
   patient's own answer before a family member's: partnering shifts to the teen).
2. A US Core Care Experience Preference Observation: LOINC 95541-9, status final or
   amended, a valueString (https://hl7.org/fhir/us/core/STU7/StructureDefinition-us-core-
   care-experience-preference.html).
3. The latest partnering note. Rule: a DocumentReference, status `current`, about the
   patient, carrying an identifier in Flip's identifier system whose value starts with
   `partnering-note/`. The identifier, not the note type, decides: the type is configurable
   per site (default LOINC 11506-3) and Flip's plan-of-care notes share the system.
   Its words are the first text/plain attachment's base64 `data`.
Sources are compared by authored / effective / date; the newest wins.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, tzinfo

from fhir_mappings import codes
from fhir_mappings.fields import (
    Skips,
    dicts,
    has_coding,
    has_identifier,
    identifier_values,
    instant,
    note_words,
    reference,
    replaced_ones,
    text,
    valid_resource,
)
from fhir_mappings.narrative import read_partnering_text
from fhir_mappings.questionnaire import partnering_style_display
from fhir_mappings.visit_model import PartneringPreference, PreVisitAnswers

log = logging.getLogger(__name__)

FINAL = frozenset({"final", "amended", "corrected"})


def preference_history(
    *,
    answers: Iterable[PreVisitAnswers],
    observations: list[object],
    document_references: list[object],
    patient_ref: str,
    zone: tzinfo | None,
    base: str,
    skips: Skips,
) -> list[PartneringPreference]:
    """Every partnering preference and note found, newest first (for the care team); never
    a note an amended one replaces."""
    replaced = replaced_ones(document_references)
    notes = [
        d
        for d in document_references
        if not isinstance(d, dict) or f"DocumentReference/{d.get('id')}" not in replaced
    ]
    # The Observation Flip writes beside its partnering note repeats the note's words: the
    # history shows the note once.
    system = codes.identifier_system(base)
    noted = _plan_ids(document_references, system, codes.PARTNERING_NOTE_PREFIX)
    observations = [
        o for o in observations if not (_plan_ids([o], system, codes.PREFERENCE_PREFIX) & noted)
    ]
    candidates = [
        c
        for c in (
            answers_to_preference(answers),
            *(observation_to_preference(o, patient_ref, zone, skips) for o in observations),
            *(note_to_preference(d, patient_ref, zone, base, skips) for d in notes),
        )
        if c is not None
    ]
    # Newest first; at the same moment the clinician's note wins over the data it summarises.
    return sorted(
        candidates, key=lambda c: (_timestamp(c.recorded), c.source == "note"), reverse=True
    )


def answers_to_preference(answers: Iterable[PreVisitAnswers]) -> PartneringPreference | None:
    """The preference in the newest answers that give one, the patient's own first."""
    giving = [a for a in answers if a.partnering_style or a.learning_preferences]
    if not giving:
        return None
    own = [a for a in giving if not a.is_family]
    chosen = max(own or giving, key=lambda a: _timestamp(a.authored))
    return PartneringPreference(
        style=chosen.partnering_style,
        style_display=(
            partnering_style_display(chosen.partnering_style) if chosen.partnering_style else None
        ),
        learning_preferences=chosen.learning_preferences,
        text=None,
        source="questionnaire",
        recorded=chosen.authored,
        recorded_by=chosen.author_display,
        recorded_role="family member" if chosen.is_family else "patient",
    )


def observation_to_preference(
    value: object, patient_ref: str, zone: tzinfo | None, skips: Skips
) -> PartneringPreference | None:
    """A Care Experience Preference Observation as a preference; other Observations: None."""
    resource = valid_resource(value, "Observation", skips, log)
    if resource is None:
        return None
    if not has_coding(resource.get("code"), codes.LOINC, codes.CARE_EXPERIENCE_PREFERENCE):
        return None  # any other Observation is ordinary chart data, not a skip
    words = text(resource.get("valueString"))
    if reference(resource.get("subject")) != patient_ref:
        skips.skip(log, "Observation", "subject is not the patient")
        return None
    if resource.get("status") not in FINAL or words is None:
        skips.skip(log, "Observation", "not a final care experience preference with a string")
        return None
    period = resource.get("effectivePeriod")
    recorded = (
        instant(resource.get("effectiveDateTime"), zone)
        or (instant(period.get("start"), zone) if isinstance(period, dict) else None)
        or instant(resource.get("issued"), zone)
    )
    return PartneringPreference(
        style=None,
        style_display=None,
        learning_preferences=(),
        text=words,
        source="observation",
        recorded=recorded,
        recorded_by=_performer_display(resource.get("performer")),
        recorded_role=_role_of(resource.get("performer")),
    )


def note_to_preference(
    value: object, patient_ref: str, zone: tzinfo | None, base: str, skips: Skips
) -> PartneringPreference | None:
    """A partnering note as a preference; other DocumentReferences: None."""
    resource = valid_resource(value, "DocumentReference", skips, log)
    if resource is None:
        return None
    system = codes.identifier_system(base)
    if not has_identifier(resource, system, codes.PARTNERING_NOTE_PREFIX):
        return None  # someone else's note: ordinary chart data, not a skip
    if reference(resource.get("subject")) != patient_ref:
        skips.skip(log, "DocumentReference", "subject is not the patient")
        return None
    words = note_words(resource)
    if resource.get("status") != "current" or words is None:
        skips.skip(log, "DocumentReference", "not a current note with a text/plain attachment")
        return None
    style, learning, own_words = read_partnering_text(words)
    return PartneringPreference(
        style=style,
        style_display=partnering_style_display(style) if style else None,
        learning_preferences=learning,
        text=own_words,
        source="note",
        recorded=instant(resource.get("date"), zone),
        recorded_by=_performer_display(resource.get("author")),
        recorded_role=_role_of(resource.get("author")),
    )


def _plan_ids(resources: Iterable[object], system: str, prefix: str) -> set[str]:
    # The plan ids in Flip's identifiers of `prefix` ("partnering-note/<plan id>").
    return {
        value
        for r in resources
        if isinstance(r, dict)
        for value in identifier_values(r, system, prefix)
    }


def _timestamp(when: datetime | None) -> float:
    # An undated source loses to any dated one.
    return when.timestamp() if when else float("-inf")


def _performer_display(value: object) -> str | None:
    for ref in dicts(value):
        if found := text(ref.get("display")):
            return found
    return None


# Who recorded an entry, in the care team's words, by the type of the reference.
_ROLE_OF_TYPE = {
    "Practitioner": "clinician",
    "PractitionerRole": "clinician",
    "Patient": "patient",
    "RelatedPerson": "family member",
}


def _role_of(value: object) -> str | None:
    for ref in dicts(value):
        kind = (reference(ref) or "").split("/")[0]
        if kind in _ROLE_OF_TYPE:
            return _ROLE_OF_TYPE[kind]
    return None
