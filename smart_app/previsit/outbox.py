"""Sending pre-visit responses to the chart: exactly once, after they are committed.

Each row is attempted by one worker under a lease (core/leases.py, as the plan's outbox).
Whether the EHR takes a QuestionnaireResponse is decided from its CapabilityStatement and
the launch's granted scopes, never from who the vendor is: where it takes no create (as
Oracle Health documents), the answers stay in Flip's store (`kept`) and still reach the
visit. A create is conditional on Flip's identifier (If-None-Exist, or a search first where
the server declares no conditional create), so a retry after a lost answer finds the first;
an amendment updates that same resource. Temporary failures retry with backoff; a refusal
(4xx) ends the row `refused`, the answers kept. Logs carry states and counts, never words.
"""

from __future__ import annotations

import logging
import random
import threading
from typing import Any

from launch.capabilities import ServerCapabilities, scopes_permit, type_interactions
from launch.fhir_errors import FhirError, FhirFatalError, FhirUnauthorized, error_kind, timed_out
from launch.gateway import FhirGateway, SearchRequest
from smart_app.core import audit
from smart_app.core.leases import Backoff, LeaseLost, Leases
from smart_app.core.models import PrevisitResponse
from smart_app.core.vault import SealBroken
from smart_app.previsit.store import KEPT, REFUSED, SENT, PrevisitStore
from smart_app.session.launches import LaunchService

log = logging.getLogger(__name__)

QR = "QuestionnaireResponse"


class PrevisitOutbox:
    """Processes due pre-visit rows: create (or update) each response in the chart once."""

    def __init__(
        self,
        launches: LaunchService,
        store: PrevisitStore,
        capabilities: ServerCapabilities,
        *,
        backoff: Backoff,
        timeout_s: float,
        wake: threading.Event | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._launches = launches
        self._store = store
        self._capabilities = capabilities
        self._timeout_s = timeout_s
        self._leases = Leases(
            PrevisitResponse,
            "response_key",
            backoff=backoff,
            timeout_s=timeout_s,
            rng=rng or random.Random(),  # noqa: S311 (jitter, not security)
        )
        # Shared with the plan's outbox, so one worker wakes for either.
        self.wake = wake or threading.Event()

    def process_due(self, *, limit: int = 20) -> int:
        """Attempt every due, unleased row (up to `limit`); how many were attempted."""
        return sum(1 for key in self._leases.due(limit) if self.process(key))

    def process(self, key: str) -> bool:
        """Claim one pending row and make one attempt; False when it is not ours to take."""
        if not self._leases.claim(key):
            return False
        try:
            self._attempt(key)
        except LeaseLost:
            log.info("previsit: lease lost mid-attempt (the answers changed); sent next time")
        return True

    def _attempt(self, key: str) -> None:
        try:
            found = self._store.row(key)
        except SealBroken:
            self._leases.end_attempt(key, state=KEPT, last_error="unreadable")
            return
        assert found is not None
        response, row = found
        scopes = frozenset(row.granted_scopes.split())
        try:
            gateway = FhirGateway(
                row.iss,
                self._launches.tokens_by_hash(row.launch_hash, row.iss),
                http=self._launches.client.http,
                timeout_s=self._timeout_s,
            )
            interactions = type_interactions(self._capabilities.statement(gateway), QR)
            if "create" not in interactions or not scopes_permit(scopes, QR, "c"):
                # This EHR takes no pre-visit answers from Flip: they stay in Flip's store.
                self._end(row, KEPT, "no create")
                return
            ehr_id = row.ehr_id
            if ehr_id is None:
                status, ehr_id = self._create(gateway, response, interactions)
                self._leases.save(key, ehr_id=ehr_id)
                if status == 201 or response["status"] == "completed":
                    self._end(row, SENT, None, ehr_id)
                    return
            # A change to a response the chart already has: the same resource, updated.
            if "update" not in interactions or not scopes_permit(scopes, QR, "u"):
                self._end(row, KEPT, "no update", ehr_id)
                return
            gateway.update({**response, "id": ehr_id})
            self._end(row, SENT, None, ehr_id)
        except FhirUnauthorized:
            self._end(row, KEPT, "HTTP 401", row.ehr_id)
        except FhirFatalError as error:
            self._end(row, REFUSED, error_kind(error), row.ehr_id)
        except FhirError as error:  # temporary: 5xx, 429, timeouts, lost connections
            attempts, delay = self._leases.retry(key, error_kind(error), timed_out=timed_out(error))
            log.info("previsit: attempt %d failed; retry in %.2fs", attempts, delay)
        except SealBroken:  # the launch's tokens: sealed under a key no longer configured
            self._end(row, KEPT, "unreadable tokens", row.ehr_id)
        except LeaseLost:
            raise
        except Exception as error:  # never drop answers on a bug; log no PHI (no traceback)
            log.error("previsit: unexpected %s; will retry", type(error).__name__)
            self._leases.retry(key, type(error).__name__, timed_out=False)

    def _create(
        self, gateway: FhirGateway, response: dict[str, Any], interactions: frozenset[str]
    ) -> tuple[int, str]:
        identifier = response["identifier"]
        query = f"identifier={identifier['system']}|{identifier['value']}"
        if "conditional-create" not in interactions:
            # No conditional create here: look for the first attempt's resource ourselves.
            found = gateway.search(
                SearchRequest(QR, {"identifier": f"{identifier['system']}|{identifier['value']}"})
            )
            if found:
                return 200, str(found[0]["id"])
            status, reference = gateway.create(response)
        else:
            status, reference = gateway.create(response, if_none_exist=query)
        return status, reference.partition("/")[2]

    def _end(
        self, row: PrevisitResponse, state: str, error: str | None, ehr_id: str | None = None
    ) -> None:
        self._leases.end_attempt(row.response_key, state=state, last_error=error)
        log.info("previsit: answers %s%s", state, f" ({error})" if error else "")
        # The audit trail names what was written to the chart, by id; never its words.
        audit.record(
            user=row.author,
            patient=row.patient,
            action="write-previsit",
            resource_ids=[f"{QR}/{ehr_id}"] if state == SENT and ehr_id else [],
            outcome=state,
        )
