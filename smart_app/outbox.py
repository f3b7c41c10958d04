"""The write-back outbox: an agreed plan is committed here before the first attempt, then
written to the chart exactly once by a worker that retries until the server says yes or no.

Temporary failures (5xx, 429, timeouts, lost connections) retry with exponential backoff
and full jitter (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/);
a 4xx stops with the server's OperationOutcome message so the clinician can edit and
resend. A lease on each row keeps two workers (threads, processes, hosts) off one plan.
Logs carry ids, counts and statuses only: never what was typed.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import requests
from sqlalchemy import CursorResult, Result, or_, select, update
from sqlalchemy.exc import IntegrityError

from fhir_mappings.plan_model import AgreedPlan
from fhir_mappings.writeback import MappingError, plan_writes
from launch.fhir_errors import FhirError, FhirFatalError, FhirTemporaryError, FhirUnauthorized
from launch.gateway import FhirGateway
from smart_app import audit
from smart_app.capabilities import ServerCapabilities
from smart_app.db import db
from smart_app.launches import LaunchService, OpenLaunch
from smart_app.models import OutboxEntry
from smart_app.vault import Vault
from smart_app.write_strategy import WriteStrategy, decide_strategy
from smart_app.writeback_status import Backoff, ResourceStatus, WritebackStatus
from smart_app.writer import error_message, initial_writes, plan_from_json, plan_to_json
from smart_app.writer import write_plan as write_plan_to_chart

log = logging.getLogger(__name__)

PENDING, WRITTEN, FAILED = "pending", "written", "failed"
RELAUNCH = "Flip's access to the chart has ended: relaunch Flip from the chart to resend."
NOT_SENT = "Not sent because of the error above: edit the plan and resend."


class LeaseLost(Exception):
    """Another worker took this row over (this one was too slow): stop quietly."""


class NotResendable(Exception):
    """Only a plan whose write-back failed can be edited and resent."""


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
        self._backoff = backoff
        self._timeout_s = timeout_s
        self._capabilities = capabilities or ServerCapabilities()
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not security)
        # Long enough for one attempt's requests to time out one by one.
        self._lease = timedelta(seconds=timeout_s * 20 + 30)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.wake = threading.Event()

    def submit(
        self, opened: OpenLaunch, plan: AgreedPlan, *, strategy: WriteStrategy | None = None
    ) -> WritebackStatus:
        """Commit the plan's write-back (once per plan_id) and wake the worker; its status.

        WritebackImpossible when this server lets Flip write neither the plan nor a note.
        """
        existing = self.status(plan.plan_id)
        if existing is not None:
            return existing  # a double click or a second tab: no new work
        gateway = self._gateway(opened.context.iss, opened.tokens)
        if strategy is None:
            strategy = self._decide(gateway, plan, opened.context.granted_scopes)
        writes = (
            initial_writes(plan_writes(plan, strategy.options(self._base)), strategy)
            if strategy
            else {}
        )
        now = _now()
        try:
            with db.session() as session:
                session.add(
                    OutboxEntry(
                        plan_id=plan.plan_id,
                        launch_hash=opened.tokens.id_hash,
                        iss=opened.context.iss,
                        patient=plan.patient_id,
                        encounter=plan.encounter_id,
                        granted_scopes=" ".join(sorted(opened.context.granted_scopes)),
                        strategy=_dump(strategy),
                        sealed_plan=self._vault.seal(plan_to_json(plan)),
                        sealed_writes=self._vault.seal(writes),
                        state=PENDING,
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            log.info("outbox: plan submitted twice at once; keeping the first")
        log.info("outbox: plan queued with %d resources", len(writes))
        self.wake.set()
        found = self.status(plan.plan_id)
        assert found is not None
        return found

    def status(self, plan_id: str) -> WritebackStatus | None:
        """The write-back status of a plan; None when it was never submitted."""
        with db.session() as session:
            row = session.scalar(select(OutboxEntry).where(OutboxEntry.plan_id == plan_id))
            return self._status(row) if row is not None else None

    def resubmit(
        self, plan_id: str, plan: AgreedPlan, *, opened: OpenLaunch | None = None
    ) -> WritebackStatus:
        """After a failure: the edited plan replaces the stored one and is sent again.

        `opened` (a new launch) replaces the launch whose tokens write it. What was already
        written stays as written: conditional creates find it, so nothing is duplicated.
        """
        if plan.plan_id != plan_id:
            raise NotResendable("The edited plan must keep its plan id.")
        with db.session() as session:
            row = session.scalar(
                select(OutboxEntry).where(OutboxEntry.plan_id == plan_id).with_for_update()
            )
            if row is None or row.state != FAILED:
                raise NotResendable("Only a plan whose write-back failed can be resent.")
            if opened is not None:
                row.launch_hash = opened.tokens.id_hash
                row.granted_scopes = " ".join(sorted(opened.context.granted_scopes))
                row.strategy = None  # the new launch's scopes may differ: decide again
            old = self._vault.open(row.sealed_writes)
            strategy = _load(row.strategy)
            writes = (
                initial_writes(plan_writes(plan, strategy.options(self._base)), strategy)
                if strategy
                else {}
            )
            for key, entry in old.items():
                if entry.get("status") == WRITTEN and key in writes:
                    writes[key] = entry
            row.sealed_plan = self._vault.seal(plan_to_json(plan))
            row.sealed_writes = self._vault.seal(writes)
            row.state, row.last_error = PENDING, None
            row.next_attempt_at = row.updated_at = _now()
        log.info("outbox: plan resent")
        self.wake.set()
        found = self.status(plan_id)
        assert found is not None
        return found

    def process_due(self, *, limit: int = 20) -> int:
        """Attempt every due, unleased row (up to `limit`); how many were attempted."""
        now = _now()
        with db.session() as session:
            due = session.scalars(
                select(OutboxEntry.plan_id)
                .where(
                    OutboxEntry.state == PENDING,
                    OutboxEntry.next_attempt_at <= now,
                    or_(OutboxEntry.lease_until.is_(None), OutboxEntry.lease_until < now),
                )
                .order_by(OutboxEntry.next_attempt_at)
                .limit(limit)
            ).all()
        return sum(1 for plan_id in due if self.process(plan_id) is not None)

    def process(self, plan_id: str) -> WritebackStatus | None:
        """Claim one pending row and make one attempt; None when it is not ours to take."""
        if not self._claim(plan_id):
            return None
        try:
            self._attempt(plan_id)
        except LeaseLost:
            log.warning("outbox: lease lost mid-attempt; another worker carries on")
        return self.status(plan_id)

    def _claim(self, plan_id: str) -> bool:
        # One atomic UPDATE: of two workers racing, exactly one sees its row count be 1.
        now = _now()
        with db.session() as session:
            claimed = session.execute(
                update(OutboxEntry)
                .where(
                    OutboxEntry.plan_id == plan_id,
                    OutboxEntry.state == PENDING,
                    or_(OutboxEntry.lease_until.is_(None), OutboxEntry.lease_until < now),
                )
                .values(lease_owner=self.owner, lease_until=now + self._lease)
            )
            return _rowcount(claimed) == 1

    def _attempt(self, plan_id: str) -> None:
        with db.session() as session:
            row = session.scalar(select(OutboxEntry).where(OutboxEntry.plan_id == plan_id))
            assert row is not None
            plan = plan_from_json(self._vault.open(row.sealed_plan))
            writes: dict[str, dict[str, Any]] = self._vault.open(row.sealed_writes)
            strategy, iss, launch_hash = _load(row.strategy), row.iss, row.launch_hash
            scopes = frozenset(row.granted_scopes.split())
        gateway = self._gateway(iss, self._launches.tokens_by_hash(launch_hash, iss))

        def record(key: str, **fields: Any) -> None:
            writes.setdefault(key, {}).update(fields)
            self._save(plan_id, writes=writes)

        outcome = FAILED
        try:
            if strategy is None:
                strategy = self._decide(gateway, plan, scopes, temporary_ok=False)
                assert strategy is not None
                writes = initial_writes(plan_writes(plan, strategy.options(self._base)), strategy)
                self._save(plan_id, writes=writes, strategy=strategy)
            options = strategy.options(self._base)
            write_plan_to_chart(gateway, plan, strategy, options, writes, record)
        except FhirUnauthorized:
            self._fail(plan_id, writes, RELAUNCH, transaction=True, error="HTTP 401")
        except FhirFatalError as error:
            transaction = strategy is None or strategy.transaction
            message = error_message(error)
            self._fail(plan_id, writes, message, transaction=transaction, error=_kind(error))
        except MappingError as error:
            self._fail(plan_id, writes, str(error), transaction=True, error="mapping")
        except FhirError as error:  # temporary: 5xx, 429, timeouts, lost connections
            self._retry(plan_id, _kind(error), timed_out=_timed_out(error))
            return
        except (LeaseLost, AssertionError):
            raise
        except Exception as error:  # never drop the plan on a bug; log no PHI (no traceback)
            log.error("outbox: unexpected %s; will retry", type(error).__name__)
            self._retry(plan_id, type(error).__name__, timed_out=False)
            return
        else:
            self._finish(plan_id, writes)
            outcome = WRITTEN
        # The audit trail names what was written to the chart, by id; never its words.
        audit.record(
            user=plan.practitioner_ref,
            patient=plan.patient_id,
            action="write-plan",
            resource_ids=[str(w["id"]) for w in writes.values() if w.get("status") == WRITTEN],
            outcome=outcome,
        )

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

    def _save(self, plan_id: str, **changes: Any) -> None:
        # Only while this worker holds the lease; each write extends it.
        values: dict[str, Any] = {"updated_at": _now(), "lease_until": _now() + self._lease}
        if "writes" in changes:
            values["sealed_writes"] = self._vault.seal(changes.pop("writes"))
        if "strategy" in changes:
            values["strategy"] = _dump(changes.pop("strategy"))
        values.update(changes)
        with db.session() as session:
            saved = session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.plan_id == plan_id, OutboxEntry.lease_owner == self.owner)
                .values(**values)
            )
            if _rowcount(saved) != 1:
                raise LeaseLost(plan_id)

    def _end_attempt(self, plan_id: str, **changes: Any) -> None:
        """Count the attempt, save its outcome and give up the lease."""
        self._save(
            plan_id,
            attempts=OutboxEntry.attempts + 1,
            lease_owner=None,
            lease_until=None,
            **changes,
        )

    def _finish(self, plan_id: str, writes: dict[str, dict[str, Any]]) -> None:
        self._end_attempt(plan_id, writes=writes, state=WRITTEN, last_error=None)
        log.info("outbox: plan written (%d resources)", len(writes))

    def _fail(
        self,
        plan_id: str,
        writes: dict[str, dict[str, Any]],
        message: str,
        *,
        transaction: bool,
        error: str,
    ) -> None:
        # In a transaction nothing was written: every pending resource carries the message.
        # One by one, the first pending resource is the refused one; the rest were not sent.
        first = True
        for entry in writes.values():
            if entry.get("status") != WRITTEN:
                entry["status"] = FAILED
                entry["message"] = message if transaction or first else NOT_SENT
                first = False
        self._end_attempt(plan_id, writes=writes, state=FAILED, last_error=error)
        log.warning("outbox: plan failed (%s)", error)

    def _retry(self, plan_id: str, error: str, *, timed_out: bool) -> None:
        with db.session() as session:
            attempts = session.scalar(
                select(OutboxEntry.attempts).where(OutboxEntry.plan_id == plan_id)
            )
        attempts = (attempts or 0) + 1  # this attempt, counted by _end_attempt below
        delay = self._backoff.delay(attempts, self._rng)
        # A request that timed out may still be running on the server: give it at least as
        # long again before a retry, so the retry's conditional create sees its result.
        if timed_out:
            delay = max(delay, self._timeout_s)
        self._end_attempt(
            plan_id, next_attempt_at=_now() + timedelta(seconds=delay), last_error=error
        )
        log.info("outbox: attempt %d failed (%s); retry in %.2fs", attempts, error, delay)

    def _status(self, row: OutboxEntry) -> WritebackStatus:
        writes: dict[str, dict[str, Any]] = self._vault.open(row.sealed_writes)
        return WritebackStatus(
            plan_id=row.plan_id,
            state=row.state,
            resources=tuple(
                ResourceStatus(
                    key=key,
                    resource_type=str(entry.get("resource_type", "")),
                    status=str(entry.get("status", PENDING)),
                    id=entry.get("id"),
                    message=entry.get("message"),
                )
                for key, entry in writes.items()
            ),
            attempts=row.attempts,
            next_attempt_at=_aware(row.next_attempt_at) if row.state == PENDING else None,
            message=_row_message(row.state, row.last_error),
        )


def _row_message(state: str, last_error: str | None) -> str | None:
    if state == WRITTEN:
        return "Saved to the chart."
    if state == FAILED:
        return RELAUNCH if last_error == "HTTP 401" else "The chart refused part of the plan."
    if last_error:
        return "The chart did not answer; Flip keeps trying. Nothing you typed is lost."
    return None


def _kind(error: FhirError) -> str:
    if _timed_out(error):
        return "timeout"
    return f"HTTP {error.status}" if error.status else "connection"


def _timed_out(error: FhirError) -> bool:
    return isinstance(error.__cause__, requests.Timeout)


def _dump(strategy: WriteStrategy | None) -> str | None:
    return json.dumps(strategy.to_json()) if strategy else None


def _load(value: str | None) -> WriteStrategy | None:
    return WriteStrategy.from_json(json.loads(value)) if value else None


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE's result is a CursorResult: its rowcount is the rows matched.
    return int(cast(CursorResult[Any], result).rowcount)


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
