"""The pre-visit form of one patient or parent launch: what it asks, and what they sent.

Each person sees only their own answers (keyed by who signed in), never another's: a parent
never sees their teen's words, shared or not. A submission is committed to Flip's store
first, then sent (core/leases.py outbox); the person is told "sent" only once the EHR
confirmed it.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import format_date, format_time
from flask_babel import gettext as _

from fhir_mappings.fields import first_given_name
from fhir_mappings.patient import partial_date_from_fhir
from fhir_mappings.previsit_form import (
    FormAnswers,
    FormItem,
    answers_to_questionnaire_response,
    for_family,
    form_items,
    previsit_identifier,
)
from fhir_mappings.questionnaire import build_questionnaire
from launch.capabilities import ServerCapabilities
from launch.gateway import SearchRequest
from smart_app.core.leases import PENDING
from smart_app.core.validation import InvalidRequest
from smart_app.previsit.answers import Asked, Posted, parse_answers
from smart_app.previsit.outbox import PrevisitOutbox
from smart_app.previsit.store import SENT, Owner, PrevisitStore, StoredResponse
from smart_app.session import handover
from smart_app.session.handover import SOMEONE_ELSE, TABLET
from smart_app.session.launches import LaunchService, OpenLaunch

TEEN_AGES = range(12, 18)  # asked about sharing with nothing preselected
SETTLE_S = 2.0  # how long a send waits for the worker's attempt on its answers
NOBODY = ""  # the tablet between turns: it asks who is answering next
LATER = "later"  # the same, with the teen answering later: the family may go first


@dataclass(frozen=True, slots=True)
class FormPage:
    """What the form page shows."""

    items: dict[str, FormItem]
    answers: FormAnswers
    asked: Asked
    visit_label: str
    lang: str
    errors: dict[str, str] = field(default_factory=dict)
    about: str | None = None  # the patient's name, when a family member answers
    delivery: str | None = None  # pending | sent | kept | refused; None: never sent
    just_sent: bool = False
    sent_before: bool = False  # on the tablet: this person's earlier answers, not shown
    # On the clinic's tablet: who may take a turn, and the teen asked to go first.
    tablet: bool = False
    people: tuple[Person, ...] = ()
    teen_first: Person | None = None

    @property
    def choosing(self) -> bool:
        """The tablet asks who is answering before it shows the form."""
        return self.tablet and not self.items

    @property
    def status(self) -> str | None:
        """`sent` once the EHR confirmed, `saved` while Flip keeps them; None before."""
        if self.delivery is None:
            return None
        return "sent" if self.delivery == SENT else "saved"


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who may answer on the tablet: their reference (or SOMEONE_ELSE), and name."""

    reference: str
    name: str


@dataclass(frozen=True, slots=True)
class _Chart:
    patient: Person
    given_name: str | None  # the patient's, when the chart gives one
    family: tuple[Person, ...]
    teen: bool  # 12-17, or an age the chart does not give
    visit_key: str
    visit_start: datetime | None  # the booked visit's, in the clinic's zone
    checked_in: bool = False  # on the tablet at check-in: the visit happening now

    def named(self) -> str:
        """The patient, as a parent's questions name them."""
        return self.given_name or _("your family member")

    def visit_label(self, turn: _Turn | None = None) -> str:
        """The visit the form is for, in words: the patient's own, or theirs to a parent."""
        name = self.named() if turn is not None and turn.by_family else None
        label: str
        if self.checked_in:
            label = _("today's visit")
        elif self.visit_start is None:
            label = _("%(name)s's next visit", name=name) if name else _("your next visit")
        else:
            date = format_date(self.visit_start.date(), "full")
            time = format_time(self.visit_start.time(), "short")
            label = (
                _("%(name)s's visit on %(date)s at %(time)s", name=name, date=date, time=time)
                if name
                else _("your visit on %(date)s at %(time)s", date=date, time=time)
            )
        return label


@dataclass(frozen=True, slots=True)
class _Turn:
    """Who answers now: the author and source written, and what they are asked."""

    author: str
    source: str
    asked: Asked
    # Someone the chart does not name: this turn's own answers (SOMEONE_ELSE:<token>).
    someone_else: str | None = None

    @property
    def by_family(self) -> bool:
        """A parent, or someone else, answers: asked about the patient's health, not theirs."""
        return self.asked.respondent != "patient"


@dataclass(frozen=True, slots=True)
class PrevisitService:
    """Builds the form of a launch and takes its submissions."""

    launches: LaunchService
    capabilities: ServerCapabilities
    store: PrevisitStore
    outbox: PrevisitOutbox
    canonical_base: str
    clinic_zone: ZoneInfo

    def page(self, opened: OpenLaunch, lang: str) -> FormPage:
        """The form, filled with this person's own answers when they sent some before; on
        the tablet with nobody's turn yet, who is answering."""
        chart = self._chart(opened)
        turn = self._turn(opened, chart)
        if turn is None:
            return self._choosing(opened, chart, lang)
        stored = self.store.find(self._owner(opened, chart, turn))
        if opened.handover == TABLET:
            # Anyone may press any name on the clinic's tablet: a turn never shows answers
            # sent before (a teen's private words least of all), it only says there are some.
            return self._form(
                chart, turn, self._items(lang, chart, turn), FormAnswers(), lang,
                tablet=True, sent_before=stored is not None,
            )  # fmt: skip
        return self._form(
            chart,
            turn,
            self._items(lang, chart, turn),
            stored.answers if stored else FormAnswers(),
            lang,
            delivery=stored.state if stored else None,
        )

    def submit(self, opened: OpenLaunch, posted: Posted, lang: str) -> FormPage | None:
        """Keep and send the answers: None once done (the form then says what became of
        them). Else the page to show: what needs fixing (nothing is kept), or on the
        tablet, who answers next."""
        chart = self._chart(opened)
        turn = self._turn(opened, chart)
        if turn is None:  # the tablet's turn ended in another tab: ask who is answering
            return self._choosing(opened, chart, lang)
        items = self._items(lang, chart, turn)
        tablet = opened.handover == TABLET
        answers, errors = parse_answers(posted, items, turn.asked)
        if errors:
            return self._form(chart, turn, items, answers, lang, errors=errors, tablet=tablet)
        owner = self._owner(opened, chart, turn)
        before = self.store.find(owner)
        key = before.key if before else self.store.new_key()
        response = answers_to_questionnaire_response(
            answers,
            patient_id=owner.patient,
            author=turn.author,
            source=turn.source,
            identifier=previsit_identifier(key),
            authored=datetime.now(UTC),
            amended=before is not None,
            lang=lang,
            base=self.canonical_base,
        )
        self.store.submit(
            owner,
            key,
            answers,
            response,
            launch_hash=opened.tokens.id_hash,
            granted_scopes=opened.context.granted_scopes,
        )
        # The first attempt now (the worker waits for it: store.FIRST_ATTEMPT_HOLD), so the
        # person hears "sent" at once, or "saved" while the worker retries with backoff.
        if not self.outbox.process(key):
            # Another tab's send of the same row holds it: wait briefly for its attempt.
            self._settle(owner)
        if not tablet:
            return None
        # The next person never sees these answers: the tablet asks whose turn is next.
        after: StoredResponse | None = self.store.find(owner)
        handover.take_turn(opened.launch_id, NOBODY)
        page = self._choosing(opened, chart, lang, answered=turn.author)
        return replace(page, delivery=after.state if after else None, just_sent=True)

    def _form(
        self,
        chart: _Chart,
        turn: _Turn,
        items: dict[str, FormItem],
        answers: FormAnswers,
        lang: str,
        **shown: Any,
    ) -> FormPage:
        """The form for `turn`: a parent's names the patient's visit, a patient's their own."""
        about = chart.named() if turn.by_family else None
        return FormPage(
            items, answers, turn.asked, chart.visit_label(turn), lang, about=about, **shown
        )

    def _settle(self, owner: Owner) -> None:
        deadline = time.monotonic() + SETTLE_S
        while time.monotonic() < deadline:
            found = self.store.find(owner)
            if found is None or found.state != PENDING:
                return
            time.sleep(0.05)

    def take_turn(self, opened: OpenLaunch, who: str) -> None:
        """On the tablet: `who` (one of the people offered) answers next."""
        chart = self._chart(opened)
        offered = {p.reference for p in (chart.patient, *chart.family, _someone_else())}
        # NOBODY: "not me", back to who is answering; LATER: the teen answers later.
        if opened.handover != TABLET or who not in offered | {NOBODY, LATER}:
            raise InvalidRequest("Choose who is answering from the list.")
        if who == SOMEONE_ELSE:
            # Each "someone else" is another person: their answers never replace the last's.
            who = f"{SOMEONE_ELSE}:{secrets.token_hex(6)}"
        handover.take_turn(opened.launch_id, who)

    def hand_back(self, opened: OpenLaunch) -> None:
        """On the tablet: everyone is done; the launch shows nothing more."""
        if opened.handover != TABLET:
            raise InvalidRequest("Only a tablet handed to the patient is handed back.")
        handover.hand_back(opened.launch_id)

    def _choosing(
        self, opened: OpenLaunch, chart: _Chart, lang: str, *, answered: str | None = None
    ) -> FormPage:
        teen_answered = answered == chart.patient.reference or (
            self.store.find(self._owner(opened, chart, self._as(chart, chart.patient.reference)))
            is not None
        )
        return FormPage(
            items={},
            answers=FormAnswers(),
            asked=Asked(None, sharing=False, sharing_required=False),
            visit_label=chart.visit_label(),
            lang=lang,
            tablet=True,
            people=(chart.patient, *chart.family, _someone_else()),
            teen_first=(
                chart.patient
                if chart.teen and not teen_answered and opened.answerer != LATER
                else None
            ),
        )

    def _turn(self, opened: OpenLaunch, chart: _Chart) -> _Turn | None:
        if opened.handover == TABLET:
            who = opened.answerer
            return None if who in (None, NOBODY, LATER) else self._as(chart, who, staff=opened)
        author = opened.context.fhir_user_reference
        assert author is not None  # roles.py refused a launch without fhirUser
        return self._as(chart, author)

    def _as(self, chart: _Chart, who: str, *, staff: OpenLaunch | None = None) -> _Turn:
        if who == chart.patient.reference:
            # A teen, or an age the chart does not give: they choose, nothing preselected.
            asked = Asked(respondent="patient", sharing=True, sharing_required=chart.teen)
            return _Turn(who, who, asked)
        if who.partition(":")[0] == SOMEONE_ELSE and staff is not None:
            # Someone the chart does not name: the staff user enters, for the patient.
            author = staff.context.fhir_user_reference or chart.patient.reference
            return _Turn(author, chart.patient.reference, Asked("other", False, False), who)
        return _Turn(who, who, Asked(respondent="parent", sharing=False, sharing_required=False))

    def _items(self, lang: str, chart: _Chart, turn: _Turn) -> dict[str, FormItem]:
        items = form_items(build_questionnaire(self.canonical_base), lang)
        return for_family(items, lang, chart.named()) if turn.by_family else items

    def _owner(self, opened: OpenLaunch, chart: _Chart, turn: _Turn) -> Owner:
        assert opened.context.patient  # roles.py: a launch always has its patient
        visit = f"{chart.visit_key}|{turn.someone_else}" if turn.someone_else else chart.visit_key
        return Owner(opened.context.iss, opened.context.patient, turn.author, visit)

    def _chart(self, opened: OpenLaunch) -> _Chart:
        patient_id = opened.context.patient or ""
        gateway = self.launches.gateway(opened)
        today = datetime.now(UTC).date()
        patients, appointments, related = gateway.batch_search(
            [
                SearchRequest("Patient", {"_id": patient_id}, optional=True),
                SearchRequest(
                    "Appointment",
                    {"patient": patient_id, "date": f"ge{today.isoformat()}"},
                    optional=True,
                ),
                SearchRequest("RelatedPerson", {"patient": patient_id}, optional=True),
            ],
            use_batch=self.capabilities.supports_batch(gateway),
        )
        patient = patients[0] if patients else {}
        born = partial_date_from_fhir(patient.get("birthDate"))
        age = born.age_on(today) if born else None
        given = first_given_name(patient)
        me = Person(f"Patient/{patient_id}", given or _("the patient"))
        family = tuple(
            Person(f"RelatedPerson/{r['id']}", first_given_name(r) or _("a parent"))
            for r in related
            if isinstance(r.get("id"), str)
        )
        teen = age is None or age in TEEN_AGES
        if opened.handover == TABLET and opened.context.encounter:
            # At check-in: the visit happening now.
            encounter = f"Encounter/{opened.context.encounter}"
            return _Chart(me, given, family, teen, encounter, None, checked_in=True)
        visit = _next_visit(appointments, datetime.now(UTC))
        if visit is None:
            return _Chart(me, given, family, teen, "next", None)
        appointment_id, start = visit
        local = start.astimezone(self.clinic_zone)
        return _Chart(me, given, family, teen, f"Appointment/{appointment_id}", local)


def _someone_else() -> Person:
    return Person(SOMEONE_ELSE, _("Someone else"))


def _next_visit(appointments: list[dict[str, Any]], now: datetime) -> tuple[str, datetime] | None:
    booked = []
    for appointment in appointments:
        start = appointment.get("start")
        if appointment.get("status") != "booked" or not isinstance(start, str):
            continue
        try:
            moment = datetime.fromisoformat(start)
        except ValueError:
            continue
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        if moment >= now:
            booked.append((moment, str(appointment.get("id", ""))))
    if not booked:
        return None
    moment, appointment_id = min(booked)
    return appointment_id, moment
