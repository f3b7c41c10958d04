"""Defensive readers of FHIR JSON fields shared by the mappings, and the skip counter.

Chart data comes from many servers and is sometimes odd: every reader here returns None or
an empty value instead of raising, so one strange resource never breaks the visit page.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any, get_args

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

Resource = dict[str, Any]


@dataclass(slots=True)
class Skips:
    """Counts resources a mapping dropped; the reason goes to the log, never PHI."""

    count: int = 0
    invalid: int = 0  # of them, the ones that are no valid R4 resource at all

    def skip(
        self, log: logging.Logger, resource_type: str, reason: str, *, invalid: bool = False
    ) -> None:
        """Count one dropped resource and log its type and a short reason."""
        self.count += 1
        self.invalid += invalid
        log.info("skipped a %s: %s", resource_type, reason)


# Validation checks each list of a resource up to this many entries. A pre-visit answer
# may hold thousands of concerns; the page shows a few and counts the rest, which the
# defensive readers below read safely. Checking all of them as R4 models cost 70 ms
# for 5,000 (pydantic builds a model per entry) on every read of the chart.
VALIDATED_ENTRIES = 50


def valid_resource(
    value: object, resource_type: str, skips: Skips, log: logging.Logger
) -> Resource | None:
    """`value` when it is a `resource_type` that validates as R4 (R4B models), else None.

    Each list is validated up to its first `VALIDATED_ENTRIES` entries.
    """
    if not isinstance(value, dict):
        skips.skip(log, resource_type, "not a JSON object", invalid=True)
        return None
    if value.get("resourceType") != resource_type:
        skips.skip(log, resource_type, "unexpected resourceType")
        return None
    try:
        get_fhir_model_class(resource_type).model_validate(_bounded(value))
    except (ValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
        # ValidationError is a ValueError; the others guard against model quirks on odd input.
        skips.skip(
            log, resource_type, f"does not validate as R4 ({type(exc).__name__})", invalid=True
        )
        return None
    if not isinstance(value.get("id"), str):
        skips.skip(log, resource_type, "no id", invalid=True)
        return None
    return value


# Every resource type Flip validates as R4: as it reads the chart (`valid_resource`) and as
# it writes the plan, the partnering note and a pre-visit answer (writeback.py).
VALIDATED_TYPES = (
    "Appointment",
    "CarePlan",
    "DocumentReference",
    "Encounter",
    "Goal",
    "Observation",
    "Patient",
    "Provenance",
    "QuestionnaireResponse",
    "RelatedPerson",
)


def load_models(resource_types: Iterable[str] = VALIDATED_TYPES) -> int:
    """Import the models of `resource_types` and of every element they hold; how many.

    fhir.resources imports an element's model (HumanName, Period, a backbone element) the
    first time a resource holding one is validated: tens of milliseconds that the first
    request after a start would otherwise spend. A resource of another type contained in
    one of these (a CareTeam in a CarePlan) is still loaded when first seen.
    """
    waiting = [get_fhir_model_class(name) for name in resource_types]
    loaded: set[type] = set()
    while waiting:
        model = waiting.pop()
        if model in loaded:
            continue
        loaded.add(model)
        for field in model.model_fields.values():
            waiting.extend(element.get_model_klass() for element in _elements(field.annotation))
    return len(loaded)


def _elements(annotation: Any) -> Iterator[Any]:
    """The fhir.resources element types in a field's annotation (`X | None`, `List[X]`)."""
    if isinstance(annotation, type) and hasattr(annotation, "get_model_klass"):
        yield annotation
    for argument in get_args(annotation):
        yield from _elements(argument)


def _bounded(value: Any) -> Any:
    """A copy of `value` with every list cut to its first `VALIDATED_ENTRIES` entries; the
    walk never visits what is cut."""
    if isinstance(value, list):
        return [_bounded(entry) for entry in value[:VALIDATED_ENTRIES]]
    if isinstance(value, dict):
        return {key: _bounded(entry) for key, entry in value.items()}
    return value


def text(value: object) -> str | None:
    """A string that has something other than whitespace in it, unchanged; else None."""
    if isinstance(value, str) and value.strip():
        return value
    return None


def dicts(value: object) -> list[Resource]:
    """The JSON objects in a FHIR list (or a single object), skipping anything else."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def reference(value: object) -> str | None:
    """`Type/id` of a literal Reference (relative or absolute URL), without `_history`."""
    if not isinstance(value, dict):
        return None
    ref = value.get("reference")
    if not isinstance(ref, str):
        return None
    parts = ref.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) < 2 or not parts[-1] or not parts[-2]:
        return None
    return f"{parts[-2]}/{parts[-1]}"


def replaced_ones(resources: Iterable[object]) -> set[str]:
    """`Type/id` of each resource another one replaces (`CarePlan.replaces`,
    `DocumentReference.relatesTo` `replaces`). Where the server would not retire an amended
    plan or note, both versions stand, often dated the same second: the replaced one is
    history, never the current word."""
    found: set[str | None] = set()
    for resource in resources:
        if isinstance(resource, dict):
            found.update(reference(r) for r in dicts(resource.get("replaces")))
            found.update(
                reference(r.get("target"))
                for r in dicts(resource.get("relatesTo"))
                if r.get("code") == "replaces"
            )
    return {r for r in found if r is not None}


def codings(concept: object) -> Iterator[Resource]:
    """The codings of a CodeableConcept."""
    if isinstance(concept, dict):
        yield from dicts(concept.get("coding"))


def has_coding(concept: object, system: str, code: str) -> bool:
    """True when the CodeableConcept carries `system|code`."""
    return any(c.get("system") == system and c.get("code") == code for c in codings(concept))


def concept_codes(concept: object) -> frozenset[str]:
    """ "system|code" of each coding of a CodeableConcept, for matching."""
    found = set()
    for coding in codings(concept):
        system, code = coding.get("system"), coding.get("code")
        if isinstance(system, str) and isinstance(code, str):
            found.add(f"{system}|{code}")
    return frozenset(found)


def concept_text(concept: object) -> str | None:
    """A CodeableConcept's text, else its first coding display."""
    if not isinstance(concept, dict):
        return None
    return text(concept.get("text")) or next(
        (t for c in codings(concept) if (t := text(c.get("display")))), None
    )


def has_identifier(resource: Resource, system: str, prefix: str = "") -> bool:
    """True when the resource has an identifier in `system` whose value starts with `prefix`."""
    return bool(identifier_values(resource, system, prefix))


def identifier_values(resource: Resource, system: str, prefix: str = "") -> list[str]:
    """The values after `prefix` of the resource's identifiers in `system` that start with it."""
    return [
        i["value"].removeprefix(prefix)
        for i in dicts(resource.get("identifier"))
        if i.get("system") == system
        and isinstance(i.get("value"), str)
        and i["value"].startswith(prefix)
    ]


def instant(value: object, zone: tzinfo | None) -> datetime | None:
    """A FHIR date or dateTime as an aware datetime (partial dates: midnight in `zone`)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 4:
            parsed = datetime.combine(date(int(value), 1, 1), time())
        elif len(value) == 7:
            parsed = datetime.combine(date(int(value[:4]), int(value[5:7]), 1), time())
        else:
            parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # FHIR requires a zone on a dateTime with a time; a date alone is read in the clinic's zone.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def first_given_name(resource: Resource) -> str | None:
    """The first given name of a Patient or RelatedPerson, preferring the name in use."""
    names = list(dicts(resource.get("name")))
    names.sort(key=lambda n: {"usual": 0, "official": 1}.get(str(n.get("use")), 2))
    for name in names:
        given = name.get("given")
        if isinstance(given, list):
            for part in given:
                if found := text(part):
                    return found
    return None


def note_words(resource: Resource) -> str | None:
    """The words of a note: its first text/plain attachment's base64 `data`, decoded."""
    for content in dicts(resource.get("content")):
        attachment = content.get("attachment")
        if not isinstance(attachment, dict):
            continue
        content_type = attachment.get("contentType")
        data = attachment.get("data")
        if not isinstance(content_type, str) or not isinstance(data, str):
            continue
        if content_type.split(";")[0].strip().lower() != "text/plain":
            continue
        try:
            return text(base64.b64decode(data, validate=True).decode("utf-8"))
        except (binascii.Error, UnicodeDecodeError):
            continue
    return None
