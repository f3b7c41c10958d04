"""The write-back outbox: an agreed plan is committed here before the first attempt, then
written to the chart exactly once by a worker that retries until the server says yes or no.

Temporary failures (5xx, 429, timeouts, lost connections) retry with exponential backoff
and full jitter (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/);
a 4xx stops with the server's OperationOutcome message so the clinician can edit and
resend. A lease on each row (smart_app/closing/outbox_rows.py) keeps two workers (threads,
processes, hosts) off one plan. Logs carry ids, counts and statuses only: never what was
typed.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from typing import Any

from sqlalchemy import select

from fhir_mappings.plan_model import AgreedPlan
from fhir_mappings.writeback import MappingError, plan_writes
from launch.capabilities import ServerCapabilities, scopes_permit, type_interactions
from launch.fhir_errors import FhirError, FhirFatalError, FhirTemporaryError, FhirUnauthorized
from launch.fhir_errors import error_kind as _kind
from launch.fhir_errors import timed_out as _timed_out
from launch.gateway import FhirGateway
from smart_app.closing import versions
from smart_app.closing.amending import amend_plan, close_goals, close_replaced
from smart_app.closing.outbox_rows import (
    FAILED,
    PENDING,
    RELAUNCH,
    UNREADABLE_TOKENS,
    WRITTEN,
    LeaseLost,
    OutboxRows,
    dump_strategy,
    load_strategy,
    now_utc,
)
from smart_app.closing.write_strategy import WriteStrategy, decide_strategy
from smart_app.closing.writeback_status import WritebackStatus
from smart_app.closing.writer import (
    Record,
    error_message,
    initial_writes,
    plan_from_json,
    plan_to_json,
)
from smart_app.closing.writer import write_plan as write_plan_to_chart
from smart_app.core import audit
from smart_app.core.db import db
from smart_app.core.leases import Backoff
from smart_app.core.models import OutboxEntry
from smart_app.core.vault import SealBroken, Vault
from smart_app.session.launches import LaunchService, OpenLaunch

log = logging.getLogger(__name__)

SETTLE_POLL_S = 0.05  # `settle` reads the status at least this often


class OutboxService:
    """Submits plans to the outbox, reports their status, and processes due rows."""

    def __init__(
        self,
        launches: LaunchService,
        vault: Vault,
        *,
        canonical_base: str,
        backoff: Backoff,
        timeout_s: float,
        capabilities: ServerCapabilities | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._launches = launches
        self._vault = vault
        self._base = canonical_base
        self._timeout_s = timeout_s
        self._capabilities = capabilities or ServerCapabilities()
        self._rows = OutboxRows(
            vault,
            backoff=backoff,
            timeout_s=timeout_s,
            rng=rng or random.Random(),  # noqa: S311 (jitter, not security)
        )
        self.owner = self._rows.owner
        self.wake = threading.Event()
        # Told each time an attempt ends in this process (`settle` waits on it).
        self._attempted = threading.Condition()
        self._attempts_ended = 0

    def submit(
        self, opened: OpenLaunch, plan: AgreedPlan, *, strategy: WriteStrategy | None = None
    ) -> WritebackStatus:
        """Commit the plan's write-back (once per plan_id) and wake the worker; its status.

        WritebackImpossible when this server lets Flip write neither the plan nor a note.
        """
        if self.status(plan.plan_id) is not None:
            return self._finish_again(opened, plan)
        gateway = self._gateway(opened.context.iss, opened.tokens)
        if strategy is None:
            strategy = self._decide(gateway, plan, opened.context.granted_scopes)
        writes = self._initial_writes(plan, strategy)
        now = now_utc()
        self._rows.insert(
            OutboxEntry(
                plan_id=plan.plan_id,
                launch_hash=opened.tokens.id_hash,
                iss=opened.context.iss,
                patient=plan.patient_id,
                encounter=plan.encounter_id,
                granted_scopes=" ".join(sorted(opened.context.granted_scopes)),
                strategy=dump_strategy(strategy),
                sealed_plan=self._vault.seal(plan_to_json(plan)),
                sealed_writes=self._vault.seal(writes),
                state=PENDING,
                attempts=0,
                next_attempt_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        log.info("outbox: plan queued with %d resources", len(writes))
        self.wake.set()
        found = self.status(plan.plan_id)
        assert found is not None
        return found

    def status(self, plan_id: str) -> WritebackStatus | None:
        """The write-back status of a plan; None when it was never submitted."""
        return self._rows.status(plan_id)

    def settle(self, submitted: WritebackStatus, timeout_s: float) -> WritebackStatus:
        """The status once the worker's next attempt on the plan ended, or after
        `timeout_s`: Finish answers with the chart's answer when it comes quickly, and the
        page polls only when it does not. Woken by this process's worker; a worker of its
        own process (`flip outbox run`) is seen by reading the status every SETTLE_POLL_S."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self._attempted:
                seen = self._attempts_ended
            latest = self.status(submitted.plan_id) or submitted
            if latest.state != PENDING or latest.attempts > submitted.attempts:
                return latest
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return latest
            with self._attempted:
                if self._attempts_ended == seen:  # none ended since the status was read
                    self._attempted.wait(min(remaining, SETTLE_POLL_S))

    def _finish_again(self, opened: OpenLaunch, plan: AgreedPlan) -> WritebackStatus:
        # The same plan again (a double click, a second tab) is no new work, unless it
        # failed: then it is resent. An edit becomes the next version (versions.py).
        with db.session() as session:
            row = session.scalar(
                select(OutboxEntry).where(OutboxEntry.plan_id == plan.plan_id).with_for_update()
            )
            assert row is not None
            if row.state != FAILED and versions.same_plan(row, plan, self._vault):
                pass
            elif row.state == PENDING:
                versions.queue(row, plan, self._vault)  # written once this version ends
                log.info("outbox: an edit waits for the version on its way")
            else:
                # The clinician's launch now: its tokens write the new version.
                row.launch_hash = opened.tokens.id_hash
                row.granted_scopes = " ".join(sorted(opened.context.granted_scopes))
                self._next_version(row, plan)
        self.wake.set()
        found = self.status(plan.plan_id)
        assert found is not None
        return found

    def _next_version(self, row: OutboxEntry, plan: AgreedPlan) -> None:
        if row.strategy is None:
            # It failed before a strategy was decided: nothing was written; start afresh.
            row.sealed_plan = self._vault.seal(plan_to_json(plan))
            row.sealed_writes = self._vault.seal({})
            row.sealed_queued = None
            row.state, row.last_error, row.attempts = PENDING, None, 0
            row.next_attempt_at = row.updated_at = now_utc()
        else:
            versions.begin(row, plan, self._vault, self._base)
        log.info("outbox: plan version %d queued", row.version)

    def _take_up_queued(self, plan_id: str) -> None:
        # A version ended (written or failed): the edit that waited for it goes next.
        with db.session() as session:
            row = session.scalar(
                select(OutboxEntry).where(OutboxEntry.plan_id == plan_id).with_for_update()
            )
            if row is None or row.state == PENDING:
                return
            plan = versions.take_queued(row, self._vault)
            if plan is None:
                return
            self._next_version(row, plan)
        self.wake.set()

    def process_due(self, *, limit: int = 20) -> int:
        """Attempt every due, unleased row (up to `limit`); how many were attempted."""
        return sum(1 for plan_id in self._rows.due(limit) if self.process(plan_id) is not None)

    def process(self, plan_id: str) -> WritebackStatus | None:
        """Claim one pending row and make one attempt; None when it is not ours to take."""
        if not self._rows.claim(plan_id):
            return None
        try:
            self._attempt(plan_id)
        except LeaseLost:
            log.warning("outbox: lease lost mid-attempt; another worker carries on")
        finally:
            with self._attempted:
                self._attempts_ended += 1
                self._attempted.notify_all()
        return self.status(plan_id)

    def _attempt(self, plan_id: str) -> None:
        with db.session() as session:
            row = session.scalar(select(OutboxEntry).where(OutboxEntry.plan_id == plan_id))
            assert row is not None
            try:
                plan = plan_from_json(self._vault.open(row.sealed_plan))
                writes: dict[str, dict[str, Any]] = self._vault.open(row.sealed_writes)
            except SealBroken:
                unreadable = True
            else:
                unreadable = False
            strategy, iss, launch_hash = load_strategy(row.strategy), row.iss, row.launch_hash
            scopes = frozenset(row.granted_scopes.split())
            version, previous = row.version, json.loads(row.previous) if row.previous else None
        if unreadable:
            # Retrying cannot help: no configured key opens it. It ends, and says why.
            self._rows.fail_unreadable(plan_id)
            return
        gateway = self._gateway(iss, self._launches.tokens_by_hash(launch_hash, iss))
        outcome = FAILED
        try:
            if strategy is None:
                strategy = self._decide(gateway, plan, scopes, temporary_ok=False)
                assert strategy is not None
                writes = self._initial_writes(plan, strategy)
                self._rows.save(plan_id, writes=writes, strategy=strategy)
            # Updates `writes` in place, so a failure below reports every resource's status.
            record = Record(writes, lambda changed: self._rows.save(plan_id, writes=changed))
            options = strategy.options(self._base)
            statement = self._capabilities.statement(gateway)

            def can_update(kind: str) -> bool:
                return "update" in type_interactions(statement, kind) and scopes_permit(
                    scopes, kind, "u"
                )

            if previous is None:
                write_plan_to_chart(gateway, plan, strategy, options, writes, record)
                close_replaced(gateway, plan, writes, can_update)
                close_goals(gateway, plan, can_update)
            else:
                amend_plan(
                    gateway,
                    plan,
                    strategy,
                    options,
                    version=version,
                    previous=previous,
                    writes=writes,
                    record=record,
                    can_update=can_update,
                )
                close_goals(gateway, plan, can_update)
        except FhirUnauthorized:
            self._rows.fail(plan_id, writes, RELAUNCH, transaction=True, error="HTTP 401")
        except FhirFatalError as error:
            # An amendment is written request by request, whatever the strategy.
            transaction = strategy is None or (strategy.transaction and previous is None)
            message = error_message(error)
            self._rows.fail(plan_id, writes, message, transaction=transaction, error=_kind(error))
        except MappingError as error:
            self._rows.fail(plan_id, writes, str(error), transaction=True, error="mapping")
        except FhirError as error:  # temporary: 5xx, 429, timeouts, lost connections
            self._rows.retry(plan_id, _kind(error), timed_out=_timed_out(error))
            return
        except SealBroken:  # the launch's tokens: sealed under a key no longer configured
            self._rows.fail(plan_id, writes, RELAUNCH, transaction=True, error=UNREADABLE_TOKENS)
        except (LeaseLost, AssertionError):
            raise
        except Exception as error:  # never drop the plan on a bug; log no PHI (no traceback)
            log.error("outbox: unexpected %s; will retry", type(error).__name__)
            self._rows.retry(plan_id, type(error).__name__, timed_out=False)
            return
        else:
            self._rows.finish(plan_id, writes)
            outcome = WRITTEN
        # The audit trail names what was written to the chart, by id; never its words.
        audit.record(
            user=plan.practitioner_ref,
            patient=plan.patient_id,
            action="write-plan",
            resource_ids=[str(w["id"]) for w in writes.values() if w.get("status") == WRITTEN],
            outcome=outcome,
        )
        self._take_up_queued(plan_id)

    def _decide(
        self,
        gateway: FhirGateway,
        plan: AgreedPlan,
        scopes: frozenset[str],
        *,
        temporary_ok: bool = True,
    ) -> WriteStrategy | None:
        registration = self._launches.client.registrations.find(gateway.base)
        try:
            statement = self._capabilities.statement(gateway)
        except FhirTemporaryError:
            if not temporary_ok:
                raise
            return None  # decided on the first attempt instead; the plan is kept meanwhile
        return decide_strategy(
            statement,
            scopes,
            registration,
            has_goals=bool(plan.goals),
            has_partnering_note=plan.partnering_note is not None,
        )

    def _gateway(self, iss: str, tokens: Any) -> FhirGateway:
        return FhirGateway(iss, tokens, http=self._launches.client.http, timeout_s=self._timeout_s)

    def _initial_writes(
        self, plan: AgreedPlan, strategy: WriteStrategy | None
    ) -> dict[str, dict[str, Any]]:
        # Undecided (the server's capabilities were out of reach): the first attempt decides.
        if strategy is None:
            return {}
        return initial_writes(plan_writes(plan, strategy.options(self._base)), strategy)
