"""The clinic-day panel: the day's appointments, and what each patient and family said.

Two round trips to the EHR, whatever the day's size:
1. the day's Appointments of one practitioner or one location, bounded on both sides with
   times (`date=ge...&date=lt...`, as Oracle Health requires), 60 to a page, paged on;
2. one batch for the patients listed (60 at a time): their Patients, pre-visit answers,
   families, last plans (a CarePlan and Goals, or a Plan of care note where the EHR takes
   no CarePlan), and the practitioners and locations the page offers.
An optional read the EHR refuses (no `user/` scope granted) is named on the page; what
could be read is still shown. The rows are read by `fhir_mappings.clinic_day`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fhir_mappings import codes
from fhir_mappings.clinic_day import ChartsOfTheDay, DayRow, Reading, bookings, day_rows
from fhir_mappings.fields import Skips
from fhir_mappings.patient import practitioner_name
from launch.capabilities import ServerCapabilities, type_interactions
from launch.fhir_errors import FhirFatalError, FhirUnauthorized
from launch.gateway import FhirGateway, SearchRequest
from smart_app.core import audit
from smart_app.core.validation import InvalidRequest
from smart_app.session.launches import LaunchService, OpenLaunch
from smart_app.visit.searches import MAX_PAGES
from smart_app.visit.visit import READ_WORDS, read_words

PAGE_SIZE = 60
MAX_DAY_PAGES = 10  # 600 appointments: past that the page says it stopped early
LIST_SIZE = 100  # practitioners and locations offered on the page
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True, slots=True)
class DayChoice:
    """A day the page offers."""

    key: str  # "today" | "tomorrow" | "next"
    label: str
    day: date


@dataclass(frozen=True, slots=True)
class Whose:
    """Whose schedule is listed: one practitioner's or one location's."""

    param: str  # the Appointment search parameter: "practitioner" | "location" | "actor"
    reference: str  # "Practitioner/7"


@dataclass(frozen=True, slots=True)
class ClinicDay:
    """What the panel shows."""

    day: DayChoice
    choices: tuple[DayChoice, ...]
    whose: Whose | None
    rows: list[DayRow]
    refused: tuple[str, ...]  # what the EHR would not let Flip read, in words
    cut_short: bool  # more appointments than Flip reads in one day
    # What the day's charts hold more of than Flip reads at once (searches.MAX_PAGES), in words.
    charts_cut_short: tuple[str, ...]
    practitioners: list[tuple[str, str]]  # (reference, name)
    locations: list[tuple[str, str]]

    @property
    def answered(self) -> int:
        """How many of the listed patients (or their families) have answered."""
        return sum(1 for row in self.rows if row.answers.has_answers)

    @property
    def done(self) -> int:
        """How many of the day's visits have their plan saved."""
        return sum(1 for row in self.rows if row.plan_saved_at is not None)


def day_choices(today: date) -> tuple[DayChoice, ...]:
    """Today, tomorrow, and the next clinic day (a weekday) when that is later."""
    tomorrow = today + timedelta(days=1)
    choices = [DayChoice("today", "Today", today), DayChoice("tomorrow", "Tomorrow", tomorrow)]
    following = next(d for d in (today + timedelta(days=n) for n in range(1, 8)) if d.weekday() < 5)
    if following > tomorrow:
        choices.append(DayChoice("next", f"Next clinic day ({following:%A})", following))
    return tuple(choices)


@dataclass(frozen=True, slots=True)
class TeamPanel:
    """Reads the clinic day of one launch."""

    launches: LaunchService
    capabilities: ServerCapabilities
    reading: Reading
    clinic_zone: ZoneInfo
    own_responses: Callable[[str, str], list[dict[str, Any]]]
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def chart_url(self, opened: OpenLaunch) -> str | None:
        """Where the EHR opens one patient's chart (`{patient}`), if it gives apps a link."""
        return self.launches.client.registrations.find(opened.context.iss).chart_url

    def clinic_day(
        self, opened: OpenLaunch, *, day: str | None, practitioner: str | None, location: str | None
    ) -> ClinicDay:
        """The day's rows for the chosen practitioner or location (default: the user)."""
        choices = day_choices(self.clock().astimezone(self.clinic_zone).date())
        chosen = next((c for c in choices if c.key == (day or "today")), None)
        if chosen is None:
            raise InvalidRequest("Choose today, tomorrow or the next clinic day.")
        whose = _whose(opened, practitioner, location)
        gateway = self.launches.gateway(opened)
        refused: list[SearchRequest] = []
        appointments: list[dict[str, Any]] = []
        cut_short = False
        if whose is not None:
            appointments, cut_short = self._appointments(gateway, whose, chosen.day, refused)
        skips = Skips()
        booked = bookings(list(appointments), self.clinic_zone, skips)
        patient_ids = list(dict.fromkeys(b.patient_id for b in booked))
        stopped: list[SearchRequest] = []
        charts, practitioners, locations = self._charts(
            gateway, patient_ids, chosen.day, refused, stopped
        )
        rows = day_rows(
            booked,
            charts,
            self.reading,
            own_responses=lambda patient: self.own_responses(opened.context.iss, patient),
        )
        user = opened.context.fhir_user_reference or "unknown"
        for patient in patient_ids:
            audit.record(user=user, patient=patient, action="read-clinic-day", resource_ids=[])
        return ClinicDay(
            day=chosen,
            choices=choices,
            whose=whose,
            rows=rows,
            refused=read_words(r.resource_type for r in refused),
            cut_short=cut_short,
            charts_cut_short=read_words(s.resource_type for s in stopped),
            practitioners=practitioners,
            locations=locations,
        )

    def _appointments(
        self, gateway: FhirGateway, whose: Whose, day: date, refused: list[SearchRequest]
    ) -> tuple[list[dict[str, Any]], bool]:
        start = datetime.combine(day, time(), self.clinic_zone)
        end = start + timedelta(days=1)
        search = SearchRequest(
            "Appointment",
            [
                (whose.param, whose.reference),
                ("date", f"ge{start.isoformat()}"),
                ("date", f"lt{end.isoformat()}"),
                ("_count", str(PAGE_SIZE)),
            ],
            optional=True,
        )
        try:
            found, complete = gateway.search_pages(search, max_pages=MAX_DAY_PAGES)
        except FhirFatalError as exc:
            if isinstance(exc, FhirUnauthorized):
                raise
            refused.append(search)
            return [], False
        return found, not complete

    def _charts(
        self,
        gateway: FhirGateway,
        patient_ids: Sequence[str],
        day: date,
        refused: list[SearchRequest],
        cut_short: list[SearchRequest],
    ) -> tuple[ChartsOfTheDay, list[tuple[str, str]], list[tuple[str, str]]]:
        since = (day - self.reading.window - timedelta(days=1)).isoformat()
        identifier = f"{codes.identifier_system(self.reading.base)}|"
        # The lists the page offers, of the types the server says it can search.
        statement = self.capabilities.statement(gateway)
        lists = [
            SearchRequest(kind, {"_count": str(LIST_SIZE)}, optional=True)
            for kind in ("Practitioner", "Location")
            if "search-type" in type_interactions(statement, kind)
        ]
        per_chunk = []
        for chunk in (
            patient_ids[i : i + PAGE_SIZE] for i in range(0, len(patient_ids), PAGE_SIZE)
        ):
            ids = ",".join(chunk)
            per_chunk += [
                SearchRequest("Patient", {"_id": ids}, optional=True),
                SearchRequest(
                    "QuestionnaireResponse",
                    {"patient": ids, "authored": f"ge{since}", "_count": "200"},
                    optional=True,
                ),
                SearchRequest("RelatedPerson", {"patient": ids}, optional=True),
                SearchRequest(
                    "CarePlan",
                    {"patient": ids, "identifier": identifier, "status": "active"},
                    optional=True,
                ),
                SearchRequest(
                    "Goal", {"patient": ids, "lifecycle-status": "active"}, optional=True
                ),
                # Flip's notes: where the EHR takes no CarePlan, the plan is a note.
                SearchRequest(
                    "DocumentReference",
                    {"patient": ids, "identifier": identifier, "_count": "200"},
                    optional=True,
                ),
            ]
        results = gateway.batch_search(
            [*lists, *per_chunk],
            use_batch=self.capabilities.supports_batch(gateway),
            refused=refused,
            cut_short=cut_short,
            max_pages=MAX_PAGES,
        )
        offered = {s.resource_type: r for s, r in zip(lists, results, strict=False)}
        rest = results[len(lists) :]
        found: dict[str, list[object]] = {k: [] for k in READ_WORDS}
        for search, resources in zip(per_chunk, rest, strict=True):
            found[search.resource_type] += resources
        charts = ChartsOfTheDay(
            patients=found["Patient"],
            responses=found["QuestionnaireResponse"],
            related_persons=found["RelatedPerson"],
            care_plans=found["CarePlan"],
            goals=found["Goal"],
            notes=found["DocumentReference"],
        )
        return charts, _named(offered.get("Practitioner", [])), _named(offered.get("Location", []))


def _whose(opened: OpenLaunch, practitioner: str | None, location: str | None) -> Whose | None:
    # A choice on the page wins; else the signed-in user's own schedule.
    for param, kind, chosen in (
        ("location", "Location", location),
        ("practitioner", "Practitioner", practitioner),
    ):
        if chosen:
            if not FHIR_ID.fullmatch(chosen):
                raise InvalidRequest(f"{chosen[:64]!r} is not a FHIR id.")
            return Whose(param, f"{kind}/{chosen}")
    user = opened.context.fhir_user_reference
    if user and user.startswith("Practitioner/"):
        return Whose("practitioner", user)
    if user and user.startswith("PractitionerRole/"):
        return Whose("actor", user)
    return None


def _named(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    named = []
    for resource in resources:
        kind, rid = resource.get("resourceType"), resource.get("id")
        if not isinstance(kind, str) or not isinstance(rid, str):
            continue
        named.append((f"{kind}/{rid}", _name_of(resource) or rid))
    return sorted(named, key=lambda pair: pair[1].casefold())


def _name_of(resource: dict[str, Any]) -> str | None:
    # A Location's name is a string; a Practitioner's is read as everywhere else in Flip.
    if isinstance(resource.get("name"), str):
        return str(resource["name"])
    return practitioner_name(resource)
