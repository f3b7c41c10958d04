"""The visit: everything the page shows, read from the chart in one round trip.

The searches go out as one `batch` Bundle where the server's CapabilityStatement lists
batch, else in parallel (never one after another); fhir_mappings turns the results into
the visit model, and the flip orders it with the clinician's draft.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fhir_mappings.clinician_items import earlier_plans
from fhir_mappings.fields import Skips
from fhir_mappings.patient import (
    EncounterSummary,
    encounter_to_summary,
    patient_to_summary,
    practitioner_name,
)
from fhir_mappings.preference import preference_history
from fhir_mappings.previsit_form import with_flips_own
from fhir_mappings.visit_model import VisitInputs
from fhir_mappings.visit_reading import read_visit
from launch.capabilities import ServerCapabilities
from launch.context import LaunchContext
from launch.fhir_errors import FhirFatalError, FhirTemporaryError, error_kind
from launch.gateway import FhirGateway, SearchRequest
from launch.registrations import Registration
from smart_app.core import audit
from smart_app.session.launches import LaunchService, OpenLaunch
from smart_app.visit.agenda import build_agenda
from smart_app.visit.chart_reads import ANY_AGE, ChartReads, KeptRead
from smart_app.visit.drafts import DraftKey, DraftStore, SavedDraft
from smart_app.visit.searches import (
    HISTORY_WINDOW,
    MAX_PAGES,
    VISIT_SEARCHES,
    history_searches,
    visit_searches,
)
from smart_app.visit.visit import PartneringHistory, Visit, read_words

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


# The pre-visit responses Flip keeps itself, by (iss, patient): they reach the visit on an
# EHR that takes no QuestionnaireResponse (the composition root passes the previsit store).
OwnResponses = Callable[[str, str], list[dict[str, Any]]]


def _none_kept(iss: str, patient: str) -> list[dict[str, Any]]:
    return []


@dataclass(frozen=True, slots=True)
class VisitReader:
    """Reads and assembles a visit for one launch."""

    gateway: FhirGateway
    context: LaunchContext
    registration: Registration
    capabilities: ServerCapabilities
    drafts: DraftStore
    canonical_base: str
    window: timedelta
    clinic_zone: ZoneInfo
    clock: Callable[[], datetime] = _now
    own_responses: OwnResponses = _none_kept
    clinic_language: str = "en"
    chart_reads: ChartReads | None = None
    launch_id: str = ""
    reuse_for: timedelta = timedelta(minutes=5)

    def draft_key(self) -> DraftKey:
        """The key of this launch's draft: same encounter, same user."""
        assert self.context.patient is not None
        user = self.context.fhir_user_reference
        assert user is not None  # a launch without fhirUser never opens a visit (roles.py)
        # A visit is its encounter; a launch without one (standalone, or an EHR that sends
        # none) is the patient's visit of today in the clinic's zone, so later visits never
        # collapse into one plan.
        today = self.clock().astimezone(self.clinic_zone).date()
        return DraftKey(
            iss=self.context.iss,
            patient=self.context.patient,
            encounter=self.context.encounter or f"day:{today.isoformat()}",
            user_ref=user,
        )

    def load(self, *, reuse: timedelta | None = None, fall_back: bool = False) -> Visit:
        """Read the chart (one batch where allowed) and build the flipped agenda.

        With `reuse`, the launch's last read is used instead while younger than that
        (agenda actions; finishing takes any age): no round trip to the EHR. With
        `fall_back`, an EHR not answering (5xx, timeout) shows the launch's last read, of
        any age, saying so (the visit page: the clinician's work stays in reach).
        """
        key = self.draft_key()
        draft = self.drafts.load(key)
        kept = self._kept(reuse) if reuse is not None else None
        unavailable = None
        if kept is None:
            try:
                kept = self._read_chart(key, draft)
            except FhirTemporaryError as error:
                kept = self._kept(ANY_AGE) if fall_back else None
                if kept is None:
                    raise
                unavailable = error_kind(error)
                log.warning("visit: the EHR did not answer (%s); the last read shown", unavailable)
        found = kept.results
        patient = _first(found["patient"], patient_to_summary)
        if patient is None:
            raise FhirFatalError(
                "The EHR returned no readable Patient for this launch.", status=404
            )
        encounter_json = found["encounter"][0] if found["encounter"] else None
        encounter = encounter_to_summary(encounter_json) if encounter_json else None
        visit_start = _visit_start(encounter, found["appointments"])
        inputs: VisitInputs = read_visit(
            patient_id=patient.id,
            patient=found["patient"][0],
            encounter=encounter_json,
            appointments=found["appointments"],
            questionnaire_responses=with_flips_own(
                found["responses"], self.own_responses(self.context.iss, patient.id)
            ),
            related_persons=found["related_persons"],
            observations=found["observations"],
            document_references=found["notes"],
            care_plans=found["care_plans"],
            goals=found["goals"],
            visit_start=visit_start,
            window=self.window,
            base=self.canonical_base,
            linkid_map=self.registration.linkid_map,
            questionnaire_urls=self.registration.site_questionnaires,
            own_plan_id=key.plan_id,
        )
        audit.record(
            user=key.user_ref,
            patient=key.patient,
            action="read-visit",
            resource_ids=[
                f"Patient/{patient.id}",
                *([f"Encounter/{encounter.id}"] if encounter else []),
                *(f"QuestionnaireResponse/{a.response_id}" for a in inputs.answers),
            ],
        )
        return Visit(
            patient=patient,
            encounter=encounter,
            need_patient_banner=self.context.need_patient_banner,
            answers=inputs.answers,
            preference=inputs.preference,
            agenda=build_agenda(inputs, draft.draft),
            draft=draft,
            visit_start=visit_start,
            clinic_language=self.clinic_language,
            refused=read_words(kept.refused),
            cut_short=read_words(kept.cut_short),
            skipped=inputs.invalid,
            user_ref=key.user_ref,
            names=_names(found.get("user") or []),
            earlier_plans=earlier_plans(
                found["care_plans"], f"Patient/{patient.id}", self.canonical_base, key.plan_id
            ),
            read_at=kept.read_at.astimezone(self.clinic_zone),
            chart_unavailable=unavailable,
        )

    def _kept(self, younger_than: timedelta) -> KeptRead | None:
        if self.chart_reads is None or not self.launch_id:
            return None
        return self.chart_reads.last(self.launch_id, younger_than=younger_than)

    def _read_chart(self, key: DraftKey, draft: SavedDraft) -> KeptRead:
        refusals: list[SearchRequest] = []
        stopped: list[SearchRequest] = []
        named = visit_searches(
            self.context, self.canonical_base, self.window, team=_care_team(key, draft)
        )
        results = self.gateway.batch_search(
            [named[name] for name in VISIT_SEARCHES],
            use_batch=self.capabilities.supports_batch(self.gateway),
            refused=refusals,
            cut_short=stopped,
            max_pages=MAX_PAGES,
        )
        kept = KeptRead(
            dict(zip(VISIT_SEARCHES, results, strict=True)),
            refused=_kinds(refusals),
            read_at=self.clock(),
            cut_short=_kinds(stopped),
        )
        if self.chart_reads is not None and self.launch_id:
            self.chart_reads.keep(self.launch_id, kept)
        return kept

    def partnering_history(self, patient_id: str | None = None) -> PartneringHistory:
        """A patient's partnering notes and preferences over time, newest first: the
        launch's patient, or one listed on a clinic-day panel launched from the schedule."""
        patient_id = patient_id or self.context.patient or ""
        stopped: list[SearchRequest] = []
        refusals: list[SearchRequest] = []
        patients, related, responses, observations, notes = self.gateway.batch_search(
            history_searches(self.context, self.canonical_base, patient_id),
            use_batch=self.capabilities.supports_batch(self.gateway),
            refused=refusals,
            cut_short=stopped,
            max_pages=MAX_PAGES,
        )
        patient = _first(patients, patient_to_summary)
        if patient is None:
            raise FhirFatalError(
                "The EHR returned no readable Patient for this launch.", status=404
            )
        answers = read_visit(
            patient_id=patient.id,
            patient=patients[0],
            encounter=None,
            appointments=[],
            questionnaire_responses=with_flips_own(
                responses, self.own_responses(self.context.iss, patient.id)
            ),
            related_persons=related,
            observations=[],
            document_references=[],
            care_plans=[],
            goals=[],
            visit_start=datetime.now(UTC),
            window=HISTORY_WINDOW,
            base=self.canonical_base,
            linkid_map=self.registration.linkid_map,
            questionnaire_urls=self.registration.site_questionnaires,
        ).answers
        history = preference_history(
            answers=answers,
            observations=list(observations),
            document_references=list(notes),
            patient_ref=f"Patient/{patient.id}",
            zone=self.clinic_zone,
            base=self.canonical_base,
            skips=Skips(),
        )
        audit.record(
            user=self.context.fhir_user_reference or "unknown", patient=patient.id,
            action="read-partnering-notes", resource_ids=[f"Patient/{patient.id}"],
        )  # fmt: skip
        return PartneringHistory(
            patient, history, read_words(_kinds(stopped)), read_words(_kinds(refusals))
        )


@dataclass(frozen=True, slots=True)
class VisitReaders:
    """Makes the VisitReader of each launch."""

    launches: LaunchService
    capabilities: ServerCapabilities
    drafts: DraftStore
    canonical_base: str
    window: timedelta
    clinic_zone: ZoneInfo
    clock: Callable[[], datetime] = _now
    own_responses: OwnResponses = _none_kept
    clinic_language: str = "en"
    chart_reads: ChartReads | None = None
    # Agenda actions reuse the launch's last chart read while it is younger than this.
    reuse_for: timedelta = timedelta(minutes=5)

    def for_launch(self, opened: OpenLaunch) -> VisitReader:
        """The reader of one launch's visit."""
        return VisitReader(
            gateway=self.launches.gateway(opened),
            context=opened.context,
            registration=self.launches.client.registrations.find(opened.context.iss),
            capabilities=self.capabilities,
            drafts=self.drafts,
            canonical_base=self.canonical_base,
            window=self.window,
            clinic_zone=self.clinic_zone,
            clock=self.clock,
            own_responses=self.own_responses,
            clinic_language=self.clinic_language,
            chart_reads=self.chart_reads,
            launch_id=opened.launch_id,
            reuse_for=self.reuse_for,
        )


def _visit_start(
    encounter: EncounterSummary | None, appointments: list[dict[str, Any]]
) -> datetime:
    # The window of pre-visit answers ends when the visit starts: the encounter's start,
    # else today's appointment, else now.
    candidates = [encounter.start if encounter else None]
    candidates += [a.get("start") for a in appointments if isinstance(a.get("start"), str)]
    for value in candidates:
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _care_team(key: DraftKey, draft: SavedDraft) -> list[str]:
    # The Practitioner ids of the signed-in user and of everyone who changed the agenda.
    refs = [key.user_ref, *draft.draft.changed_by.values()]
    refs += [a.added_by for a in draft.draft.added if a.added_by]
    ids = [r.split("/", 1)[1] for r in refs if r.startswith("Practitioner/")]
    return sorted(set(ids))[:20]


def _names(practitioners: list[dict[str, Any]]) -> dict[str, str]:
    named = {f"Practitioner/{p.get('id')}": practitioner_name(p) for p in practitioners}
    return {ref: name for ref, name in named.items() if name}


def _kinds(searches: list[SearchRequest]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(search.resource_type for search in searches))


def _first(resources: list[dict[str, Any]], mapping: Any) -> Any:
    for resource in resources:
        summary = mapping(resource)
        if summary is not None:
            return summary
    return None
