"""Search: parse parameters, narrow candidates in SQL, match in Python, sort and page.

See https://hl7.org/fhir/R4/search.html. Candidates are narrowed by resource type, patient
compartment and id in SQL, and by the text of token and reference values (a resource
whose JSON lacks the value cannot match), so a chart search stays fast in a large store:
a conditional create keyed by an identifier reads one candidate, not the whole chart. The
criteria are then evaluated exactly over the JSON of each candidate.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from ehr_sandbox.fhir.errors import FhirError, JsonObject
from ehr_sandbox.fhir.search_params import SEARCH_PARAMS, SearchParam
from ehr_sandbox.fhir.store import ResourceRecord

DEFAULT_COUNT = 50
MAX_COUNT = 1000
# Result parameters this server honours (https://hl7.org/fhir/R4/search.html#return);
# `_offset` is the paging cursor of the `next` links it writes.
CONTROL_PARAMS = frozenset({"_count", "_offset", "_sort", "_total", "_format"})
_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?$"
)
_VERBATIM = re.compile(r"[ !#-\[\]-~]+")  # printable ASCII but '"' and '\\'
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_LATEST = datetime.max.replace(tzinfo=UTC)

DateRange = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class Criterion:
    """One `name[:modifier]=v1,v2` parameter: matches when any value matches."""

    param: SearchParam
    modifier: str | None
    values: tuple[str, ...]


@dataclass(slots=True)
class SearchRequest:
    """A parsed search: criteria (AND), sort keys and the page wanted."""

    criteria: list[Criterion] = field(default_factory=list)
    sort: list[tuple[SearchParam, bool]] = field(default_factory=list)  # (param, descending)
    count: int = DEFAULT_COUNT
    offset: int = 0


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One page of matches and the total number of matches."""

    page: list[JsonObject]
    total: int
    next_offset: int | None


def parse_search(
    resource_type: str, params: list[tuple[str, str]], *, lenient: bool
) -> SearchRequest:
    """Parse query parameters; 400 for unknown ones unless `lenient` (Prefer: handling=lenient)."""
    known = SEARCH_PARAMS[resource_type]
    parsed = SearchRequest()
    for key, value in params:
        name, _, modifier = key.partition(":")
        if name in CONTROL_PARAMS:
            _parse_control(parsed, known, name, value, lenient=lenient)
            continue
        param = known.get(name)
        if param is None or not _modifier_ok(param, modifier):
            if lenient:
                continue
            raise FhirError(400, f"Unknown search parameter {key!r} for {resource_type}")
        values = tuple(v for v in value.split(",") if v)
        if values:
            parsed.criteria.append(Criterion(param, modifier or None, values))
    return parsed


def _modifier_ok(param: SearchParam, modifier: str) -> bool:
    if not modifier:
        return True
    if param.kind == "string":
        return modifier in ("exact", "contains")
    # A type modifier such as `subject:Patient=123`.
    return param.kind == "reference" and modifier[:1].isupper()


def _parse_control(
    parsed: SearchRequest, known: dict[str, SearchParam], name: str, value: str, *, lenient: bool
) -> None:
    if name in ("_count", "_offset"):
        try:
            number = int(value)
        except ValueError:
            raise FhirError(400, f"{name} must be a whole number, got {value!r}") from None
        if number < 0:
            raise FhirError(400, f"{name} must not be negative")
        if name == "_count":
            parsed.count = min(number, MAX_COUNT)
        else:
            parsed.offset = number
    elif name == "_sort":
        for key in value.split(","):
            descending = key.startswith("-")
            param = known.get(key.lstrip("-"))
            if param is not None and (param.kind == "date" or param.name == "_id"):
                parsed.sort.append((param, descending))
            elif not lenient:
                raise FhirError(400, f"Cannot sort by {key!r}: only date parameters and _id")


def search_resources(
    session: Session,
    resource_type: str,
    params: list[tuple[str, str]],
    *,
    patient_id: str | None = None,
) -> list[JsonObject]:
    """Every resource matching FHIR search parameters, e.g. `[("date", "2024-06-01")]`.

    For sandbox pages: no paging and no access checks; 400-style FhirError on a bad param.
    """
    request = parse_search(resource_type, params, lenient=False)
    request.count = sys.maxsize
    return run_search(session, resource_type, request, compartment=patient_id).page


def run_search(
    session: Session,
    resource_type: str,
    request: SearchRequest,
    *,
    compartment: str | None = None,
    visible: Callable[[JsonObject], bool] | None = None,
) -> SearchResult:
    """Every match of `request` (within `compartment`, and `visible` when given), one page.

    Withheld resources are dropped before counting, so `total` and paging never reveal them.
    """
    query = select(ResourceRecord).where(ResourceRecord.resource_type == resource_type)
    if compartment is not None:
        query = query.where(ResourceRecord.patient_id == compartment)
    for criterion in request.criteria:
        patients = _patient_ids(criterion)
        if patients is not None:
            query = query.where(ResourceRecord.patient_id.in_(patients))
        if criterion.param.name == "_id":
            query = query.where(ResourceRecord.id.in_(criterion.values))
        narrowed = _text_narrowing(criterion)
        if narrowed is not None:
            query = query.where(narrowed)
    query = query.order_by(ResourceRecord.last_updated, ResourceRecord.id)
    matches = [
        record.content
        for record in session.scalars(query)
        if all(_matches(record.content, c) for c in request.criteria)
        and (visible is None or visible(record.content))
    ]
    for param, descending in reversed(request.sort):
        matches = _sorted(matches, param, descending=descending)
    end = request.offset + request.count
    next_offset = end if end < len(matches) and request.count > 0 else None
    return SearchResult(matches[request.offset : end], len(matches), next_offset)


def _patient_ids(criterion: Criterion) -> list[str] | None:
    """Patient ids that narrow candidates in SQL, or None when the criterion cannot."""
    if criterion.param.kind == "compartment":
        return [v.removeprefix("Patient/") for v in criterion.values]
    if criterion.param.name == "subject":
        if criterion.modifier == "Patient":
            return list(criterion.values)
        if all(v.startswith("Patient/") for v in criterion.values):
            return [v.removeprefix("Patient/") for v in criterion.values]
    return None


def _text_narrowing(criterion: Criterion) -> ColumnElement[bool] | None:
    """A SQL test that every match passes (its stored JSON holds the wanted text), or None.

    Only a superset: the exact match is still `_matches`. Only for values that JSON
    writes as they are (printable ASCII without quotes or backslashes), so the stored
    text holds them verbatim whatever the serializer escapes.
    """
    needles = [_needle(criterion, value) for value in criterion.values]
    verbatim = [n for n in needles if n is not None and _VERBATIM.fullmatch(n)]
    if not needles or len(verbatim) < len(needles):
        return None  # one value the text cannot find: every candidate stays
    text = cast(ResourceRecord.content, String)
    return or_(*(text.contains(n, autoescape=True) for n in verbatim))


def _needle(criterion: Criterion, value: str) -> str | None:
    if criterion.param.kind == "token" and criterion.modifier is None:
        system, _, code = value.rpartition("|")
        return code or system or None
    if criterion.param.kind == "reference":
        return f"{criterion.modifier}/{value}" if criterion.modifier else value
    return None


def _sorted(
    resources: list[JsonObject], param: SearchParam, *, descending: bool
) -> list[JsonObject]:
    """Stable sort on one parameter; resources without the element go last either way."""
    keyed = [(_sort_key(r, param), r) for r in resources]
    present = [(k, r) for k, r in keyed if k is not None]
    present.sort(key=lambda pair: pair[0], reverse=descending)
    return [r for _, r in present] + [r for k, r in keyed if k is None]


def _sort_key(resource: JsonObject, param: SearchParam) -> Any:
    if param.name == "_id":
        return str(resource.get("id", ""))
    starts = [r[0] for r in (_element_range(v) for v in _elements(resource, param)) if r]
    return min(starts) if starts else None


def _elements(resource: JsonObject, param: SearchParam) -> Iterator[Any]:
    for path in param.paths:
        yield from _walk(resource, path.split("."))


def _walk(value: Any, steps: list[str]) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, steps)
    elif not steps:
        if value is not None:
            yield value
    elif isinstance(value, dict):
        yield from _walk(value.get(steps[0]), steps[1:])


def _matches(resource: JsonObject, criterion: Criterion) -> bool:
    kind = criterion.param.kind
    if kind == "compartment":
        return True  # answered in SQL from the stored patient compartment
    elements = list(_elements(resource, criterion.param))
    return any(
        _value_matches(kind, criterion.modifier, element, value)
        for element in elements
        for value in criterion.values
    )


def _value_matches(kind: str, modifier: str | None, element: Any, value: str) -> bool:
    if kind == "token":
        return _token_matches(element, value)
    if kind == "string":
        return _string_matches(element, value, modifier)
    if kind == "date":
        return _date_matches(element, value)
    if kind == "reference":
        return _reference_matches(element, value, modifier)
    if kind == "canonical":
        return isinstance(element, str) and value in (element, element.split("|")[0])
    return bool(element == value)  # uri: exact match


def _token_matches(element: Any, value: str) -> bool:
    """`code`, `system|code`, `|code` or `system|` against a code, Coding, CodeableConcept
    or Identifier (https://hl7.org/fhir/R4/search.html#token)."""
    prefix, bar, code = value.rpartition("|")
    system = prefix if bar else None
    if isinstance(element, dict) and isinstance(element.get("coding"), list):
        return any(_token_matches(c, value) for c in element["coding"])
    if isinstance(element, dict):
        found_code = element.get("code", element.get("value"))
        found_system = element.get("system")
    else:
        found_code, found_system = element, None
    if isinstance(found_code, bool):
        found_code = str(found_code).lower()
    if system is not None and (found_system or "") != system:
        return False
    return code == "" or str(found_code) == code


def _string_matches(element: Any, value: str, modifier: str | None) -> bool:
    if not isinstance(element, str):
        return False
    if modifier == "exact":
        return element == value
    if modifier == "contains":
        return value.casefold() in element.casefold()
    return element.casefold().startswith(value.casefold())


def _reference_matches(element: Any, value: str, modifier: str | None) -> bool:
    if not isinstance(element, dict) or not isinstance(element.get("reference"), str):
        return False
    reference: str = element["reference"].split("/_history/")[0]
    if modifier:
        value = f"{modifier}/{value}"
    if "/" in value:
        return reference == value or reference.endswith(f"/{value}")
    return reference.rsplit("/", 1)[-1] == value


def _date_matches(element: Any, value: str) -> bool:
    prefix = value[:2] if value[:2] in _PREFIXES else "eq"
    wanted = _date_range(value[2:] if value[:2] in _PREFIXES else value)
    if wanted is None:
        raise FhirError(400, f"{value!r} is not a FHIR date search value")
    found = _element_range(element)
    if found is None:
        return False
    (low, high), (start, end) = wanted, found
    # Ranges are half-open; prefixes per https://hl7.org/fhir/R4/search.html#prefix.
    checks = {
        "eq": low <= start and end <= high,
        "ne": not (low <= start and end <= high),
        "gt": end > high,
        "lt": start < low,
        "ge": end > low,
        "le": start < high,
        "sa": start >= high,
        "eb": end <= low,
        "ap": start < high and end > low,
    }
    return checks[prefix]


def _element_range(element: Any) -> DateRange | None:
    if isinstance(element, str):
        return _date_range(element)
    if isinstance(element, dict) and ("start" in element or "end" in element):
        start = _date_range(str(element["start"])) if element.get("start") else None
        end = _date_range(str(element["end"])) if element.get("end") else None
        return (start[0] if start else _EARLIEST, end[1] if end else _LATEST)
    return None


def _date_range(text: str) -> DateRange | None:
    """The instants a date, dateTime or instant of any precision covers (UTC if no zone)."""
    match = _DATE.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz: tzinfo = UTC
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        tz = timezone(timedelta(minutes=sign * (int(zone[1:3]) * 60 + int(zone[4:6]))))
    start = datetime(
        int(year),
        int(month or 1),
        int(day or 1),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int(float(fraction) * 1_000_000) if fraction else 0,
        tzinfo=tz,
    )
    if month is None:
        end = start.replace(year=start.year + 1)
    elif day is None:
        end = (start + timedelta(days=32)).replace(day=1)
    elif hour is None:
        end = start + timedelta(days=1)
    elif second is None:
        end = start + timedelta(minutes=1)
    elif fraction is None:
        end = start + timedelta(seconds=1)
    else:
        end = start + timedelta(milliseconds=1)
    return start.astimezone(UTC), end.astimezone(UTC)
