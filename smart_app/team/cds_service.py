"""Flip's CDS Hooks service: discovery, the `flip-previsit` card on patient-view, feedback.

The card is read from the request's prefetch when the EHR sent it, else from the EHR's
`fhirServer` with the hook's `fhirAuthorization` token, and only when that server is one
the calling CDS client is allowed to name (smart_app/team/cds_clients.py); else it says
there are no answers. Without the family's RelatedPersons (neither prefetched nor
readable) a parent's answers cannot be told from a stranger's, so they are left out.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

import requests
from sqlalchemy import select

from fhir_mappings.fields import Resource
from fhir_mappings.visit_reading import read_visit
from launch.fhir_errors import FhirError, FhirFatalError, FhirUnauthorized
from launch.gateway import FhirGateway, SearchRequest
from smart_app.core import audit
from smart_app.core.db import db
from smart_app.core.models import AuditEvent
from smart_app.team.cds_card import card
from smart_app.team.cds_clients import CdsClient
from smart_app.team.cds_request import CdsBadRequest, HookRequest

SERVICE_ID = "flip-previsit"
# The card keeps answers of this many days; the prefetch cannot say "the last 30 days"
# (CDS Hooks 2.0 prefetch tokens are context fields only, no date arithmetic).
WINDOW = timedelta(days=30)
SEARCH_COUNT = "50"
PREFETCH = {
    "patient": "Patient/{{context.patientId}}",
    "previsitAnswers": (
        "QuestionnaireResponse?patient={{context.patientId}}&_sort=-authored&_count=50"
    ),
    "family": "RelatedPerson?patient={{context.patientId}}",
}
_CARD_ID = re.compile(r"[A-Za-z0-9\-]{1,64}")
CARD_ACTION = "cds_card"
FEEDBACK_ACTION = "cds_feedback"


@dataclass(frozen=True, slots=True)
class CdsService:
    """Answers the hook and its feedback for the CDS clients the verifier let in."""

    public_url: str
    http: requests.Session
    zone: tzinfo
    clinic_language: str
    canonical_base: str

    @property
    def service_url(self) -> str:
        """The hook URL, which is also the `aud` every JWT must name."""
        return f"{self.public_url}/cds-services/{SERVICE_ID}"

    def discovery(self) -> dict[str, object]:
        """The discovery document (CDS Hooks 2.0 "Discovery")."""
        return {
            "services": [
                {
                    "id": SERVICE_ID,
                    "hook": "patient-view",
                    "title": "Flip: the patient's number one concern",
                    "description": (
                        "The patient's and family's pre-visit answers: their number one "
                        "concern in their own words, how they like to partner, languages."
                    ),
                    "prefetch": PREFETCH,
                }
            ]
        }

    def patient_view(self, hook: HookRequest, client: CdsClient) -> dict[str, object]:
        """`{"cards": [one card]}` for the hook's patient (none when the chart is unreadable)."""
        try:
            patient, responses, family = self._chart(hook, client)
        except FhirError:
            # The EHR did not answer (or refused its own token): no card beats a card
            # saying "no answers yet" about a patient who may well have answered.
            return {"cards": []}
        now = datetime.now(self.zone)
        inputs = read_visit(
            patient_id=hook.patient_id,
            patient=patient,
            encounter=None,
            appointments=[],
            questionnaire_responses=responses,
            related_persons=family,
            observations=[],
            document_references=[],
            care_plans=[],
            goals=[],
            visit_start=now,
            window=WINDOW,
            base=self.canonical_base,
        )
        card_id = str(uuid.uuid4())
        audit.record(
            user=client.iss[:200],
            patient=hook.patient_id,
            action=CARD_ACTION,
            resource_ids=(
                f"card/{card_id}",
                *(f"QuestionnaireResponse/{a.response_id}" for a in inputs.answers),
            ),
        )
        built = card(
            inputs.answers,
            clinic_language=self.clinic_language,
            zone=self.zone,
            launch_url=f"{self.public_url}/launch",
            card_id=card_id,
        )
        return {"cards": [built]}

    def feedback(self, body: object, client: CdsClient) -> None:
        """Record each card's outcome in the audit trail (ids and outcomes, no PHI)."""
        entries = body.get("feedback") if isinstance(body, dict) else None
        if not isinstance(entries, list) or not entries:
            raise CdsBadRequest("send {'feedback': [{'card': uuid, 'outcome': ...}]}")
        for entry in entries:
            card_id = entry.get("card") if isinstance(entry, dict) else None
            outcome = entry.get("outcome") if isinstance(entry, dict) else None
            if not isinstance(card_id, str) or not _CARD_ID.fullmatch(card_id):
                raise CdsBadRequest("each feedback needs the card's uuid")
            if outcome not in ("accepted", "overridden"):
                raise CdsBadRequest("each feedback's outcome is accepted or overridden")
            audit.record(
                user=client.iss[:200],
                patient=_patient_of_card(card_id),
                action=FEEDBACK_ACTION,
                resource_ids=(f"card/{card_id}",),
                outcome=outcome,
            )

    def _chart(
        self, hook: HookRequest, client: CdsClient
    ) -> tuple[Resource | None, list[Resource], list[Resource]]:
        patient, responses, family = hook.patient, hook.responses, hook.family
        if all(part is not None for part in (patient, responses, family)):
            return patient, responses or [], family or []
        gateway = self._gateway(hook, client)
        if gateway is None:
            return patient, responses or [], family or []
        try:
            if patient is None:
                patient = gateway.read("Patient", hook.patient_id)
            if responses is None:
                since = (datetime.now(UTC) - WINDOW).date().isoformat()
                query = {
                    "patient": hook.patient_id,
                    "authored": f"ge{since}",
                    "_count": SEARCH_COUNT,
                }
                responses = gateway.search(SearchRequest("QuestionnaireResponse", query))
            if family is None:
                family = gateway.search(
                    SearchRequest("RelatedPerson", {"patient": hook.patient_id})
                )
        except FhirFatalError as error:
            if error.status == 404:
                raise CdsBadRequest("the EHR has no such patient") from error
            raise
        return patient, responses, family

    def _gateway(self, hook: HookRequest, client: CdsClient) -> FhirGateway | None:
        if hook.fhir_server is None or hook.access_token is None:
            return None
        if not client.allows_fhir_server(hook.fhir_server):
            return None  # never send a token to a server this client may not name
        return FhirGateway(hook.fhir_server, _HookToken(hook.access_token), http=self.http)


class _HookToken:
    """The hook's own access token: no refresh (the EHR sends a new one with each hook)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh_after_rejection(self, rejected: str) -> str:
        raise FhirUnauthorized("The hook's fhirAuthorization token was refused.", status=401)


def _patient_of_card(card_id: str) -> str:
    # Feedback names only the card: its patient is the one the card was made for.
    with db.session() as session:
        query = select(AuditEvent.patient).where(
            AuditEvent.action == CARD_ACTION,
            AuditEvent.resource_ids.like(f"card/{card_id}%"),
        )
        return session.scalars(query.limit(1)).first() or ""
