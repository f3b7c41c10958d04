"""The search parameters the server supports: per type, name -> kind and element paths.

Names and meanings follow the R4 search parameter registry
(https://hl7.org/fhir/R4/searchparameter-registry.html). Paths are dotted element paths
over the resource JSON; lists are walked through. A `compartment` parameter matches the
resource's patient compartment (stored beside it), which is how `patient` is answered.
"""

from __future__ import annotations

from dataclasses import dataclass

# The CapabilityStatement type of each kind (https://hl7.org/fhir/R4/valueset-search-param-type.html).
CAPABILITY_TYPES = {
    "token": "token",
    "string": "string",
    "date": "date",
    "reference": "reference",
    "compartment": "reference",
    "uri": "uri",
    "canonical": "reference",
}


@dataclass(frozen=True, slots=True)
class SearchParam:
    """One supported search parameter of one resource type."""

    name: str
    kind: str
    paths: tuple[str, ...]
    documentation: str


def _p(name: str, kind: str, *paths: str, doc: str = "") -> SearchParam:
    return SearchParam(name, kind, paths, doc or f"{kind} search on {', '.join(paths) or name}")


_PATIENT = _p("patient", "compartment", doc="the patient whose compartment holds the resource")
_SUBJECT = _p("subject", "reference", "subject")
_ENCOUNTER = _p("encounter", "reference", "encounter")
_STATUS = _p("status", "token", "status")
_CATEGORY = _p("category", "token", "category")
_NAME = _p(
    "name",
    "string",
    "name.given",
    "name.family",
    "name.text",
    doc="case-insensitive prefix of a given or family name, or of the whole name",
)

COMMON_PARAMS = (
    _p("_id", "token", "id", doc="the logical id"),
    _p("identifier", "token", "identifier"),
    _p("_lastUpdated", "date", "meta.lastUpdated", doc="when the resource last changed"),
)

_TYPE_PARAMS: dict[str, tuple[SearchParam, ...]] = {
    "Patient": (
        _NAME,
        _p("family", "string", "name.family"),
        _p("given", "string", "name.given"),
        _p("birthdate", "date", "birthDate"),
    ),
    "Practitioner": (_NAME,),
    "Location": (_NAME,),
    "RelatedPerson": (_PATIENT,),
    "Encounter": (
        _PATIENT,
        _SUBJECT,
        _STATUS,
        _p("date", "date", "period"),
    ),
    "Appointment": (
        _PATIENT,
        _STATUS,
        _p("date", "date", "start"),
        _p("actor", "reference", "participant.actor"),
        # Oracle Health and Epic search a clinic day by one practitioner or location.
        _p("practitioner", "reference", "participant.actor"),
        _p("location", "reference", "participant.actor"),
    ),
    "QuestionnaireResponse": (
        _PATIENT,
        _SUBJECT,
        _STATUS,
        _p("questionnaire", "canonical", "questionnaire"),
        _p("authored", "date", "authored"),
        _p("author", "reference", "author"),
    ),
    "Questionnaire": (
        _p("url", "uri", "url"),
        _p("version", "token", "version"),
        _STATUS,
    ),
    "DocumentReference": (
        _PATIENT,
        _SUBJECT,
        _STATUS,
        _CATEGORY,
        _p("type", "token", "type"),
        _p("date", "date", "date"),
        _p("encounter", "reference", "context.encounter"),
    ),
    "CarePlan": (_PATIENT, _SUBJECT, _STATUS, _CATEGORY, _ENCOUNTER),
    "Goal": (_PATIENT, _SUBJECT, _p("lifecycle-status", "token", "lifecycleStatus")),
    "Observation": (
        _PATIENT,
        _SUBJECT,
        _STATUS,
        _CATEGORY,
        _ENCOUNTER,
        _p("code", "token", "code"),
        _p("date", "date", "effectiveDateTime", "effectivePeriod", "effectiveInstant"),
    ),
    "Provenance": (_PATIENT, _p("target", "reference", "target")),
    "Condition": (_PATIENT, _SUBJECT, _p("code", "token", "code"), _ENCOUNTER),
    "CodeSystem": (_p("url", "uri", "url"), _p("version", "token", "version"), _STATUS),
    "ValueSet": (_p("url", "uri", "url"), _p("version", "token", "version"), _STATUS),
    "Device": (),
    "Organization": (_p("name", "string", "name"),),
}

SEARCH_PARAMS: dict[str, dict[str, SearchParam]] = {
    resource_type: {p.name: p for p in (*COMMON_PARAMS, *params)}
    for resource_type, params in _TYPE_PARAMS.items()
}
