"""The outbox's rows: inserted once per plan, leased by one worker, ended with an outcome.

Every change an attempt makes goes through the lease (smart_app/core/leases.py, shared with
the pre-visit outbox): a worker that lost its lease (another took the row over) changes
nothing more and stops (`LeaseLost`). Rows hold the plan and its writes sealed with the
vault; the status shown to the page is read from here.
"""

from __future__ import annotations

import json
import logging
import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from smart_app.closing.write_strategy import WriteStrategy
from smart_app.closing.writeback_status import ResourceStatus, WritebackStatus
from smart_app.closing.writer import NOT_TAKEN, SKIPPED
from smart_app.core.db import db
from smart_app.core.leases import PENDING as PENDING  # re-exported: outbox.py reads these here
from smart_app.core.leases import Backoff, Leases, aware
from smart_app.core.leases import LeaseLost as LeaseLost
from smart_app.core.leases import now_utc as now_utc
from smart_app.core.models import OutboxEntry
from smart_app.core.vault import SealBroken, Vault

log = logging.getLogger(__name__)

WRITTEN, FAILED = "written", "failed"
RELAUNCH = "Flip's access to the chart has ended: relaunch Flip from the chart to resend."
NOT_SENT = "Not sent because of the error above: edit the plan and resend."
# A row sealed under a key no longer configured: it ends failed, saying so, never retried.
UNREADABLE_PLAN, UNREADABLE_TOKENS = "unreadable plan", "unreadable tokens"
UNREADABLE = (
    "Flip could not open its saved copy of this plan (it was locked with a key Flip no "
    "longer has). Check the chart for what was saved, then finish the plan again."
)


class OutboxRows:
    """Reads and changes outbox rows; a change during an attempt needs this worker's lease."""

    def __init__(
        self, vault: Vault, *, backoff: Backoff, timeout_s: float, rng: random.Random
    ) -> None:
        self._vault = vault
        self._leases = Leases(OutboxEntry, "plan_id", backoff=backoff, timeout_s=timeout_s, rng=rng)
        self.owner = self._leases.owner

    def insert(self, entry: OutboxEntry) -> None:
        """Commit a new row; of two racing inserts of one plan, the first is kept."""
        try:
            with db.session() as session:
                session.add(entry)
        except IntegrityError:
            log.info("outbox: plan submitted twice at once; keeping the first")

    def status(self, plan_id: str) -> WritebackStatus | None:
        """The write-back status of a plan; None when it was never submitted."""
        with db.session() as session:
            row = session.scalar(select(OutboxEntry).where(OutboxEntry.plan_id == plan_id))
            return self._status(row) if row is not None else None

    def due(self, limit: int) -> list[str]:
        """The plan ids of pending rows whose next attempt is due and that nobody holds."""
        return self._leases.due(limit)

    def claim(self, plan_id: str) -> bool:
        """Take the lease of a pending row; False when another worker holds it."""
        return self._leases.claim(plan_id)

    def save(self, plan_id: str, **changes: Any) -> None:
        """Save an attempt's progress (only while this worker holds the lease; extends it)."""
        if "writes" in changes:
            changes["sealed_writes"] = self._vault.seal(changes.pop("writes"))
        if "strategy" in changes:
            changes["strategy"] = dump_strategy(changes.pop("strategy"))
        self._leases.save(plan_id, **changes)

    def finish(self, plan_id: str, writes: dict[str, dict[str, Any]]) -> None:
        """End the attempt: every resource is written."""
        self._end_attempt(plan_id, writes=writes, state=WRITTEN, last_error=None)
        log.info("outbox: plan written (%d resources)", len(writes))

    def fail(
        self,
        plan_id: str,
        writes: dict[str, dict[str, Any]],
        message: str,
        *,
        transaction: bool,
        error: str,
    ) -> None:
        """End the attempt: the server refused; each unwritten resource says why."""
        # In a transaction nothing was written: every pending resource carries the message.
        # One by one, the first pending resource is the refused one; the rest were not sent.
        first = True
        for entry in writes.values():
            if entry.get("status") not in (WRITTEN, NOT_TAKEN, SKIPPED):
                entry["status"] = FAILED
                entry["message"] = message if transaction or first else NOT_SENT
                first = False
        self._end_attempt(plan_id, writes=writes, state=FAILED, last_error=error)
        log.warning("outbox: plan failed (%s)", error)

    def fail_unreadable(self, plan_id: str) -> None:
        """End the attempt: the stored plan cannot be opened; it stays as it is, failed."""
        self._end_attempt(plan_id, state=FAILED, last_error=UNREADABLE_PLAN)
        log.warning("outbox: plan failed (%s)", UNREADABLE_PLAN)

    def retry(self, plan_id: str, error: str, *, timed_out: bool) -> None:
        """End the attempt: try again after a backoff."""
        attempts, delay = self._leases.retry(plan_id, error, timed_out=timed_out)
        log.info("outbox: attempt %d failed (%s); retry in %.2fs", attempts, error, delay)

    def _end_attempt(self, plan_id: str, **changes: Any) -> None:
        """Count the attempt, save its outcome and give up the lease."""
        if "writes" in changes:
            changes["sealed_writes"] = self._vault.seal(changes.pop("writes"))
        self._leases.end_attempt(plan_id, **changes)

    def _status(self, row: OutboxEntry) -> WritebackStatus:
        writes = self.open_writes(row)
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
                    action=entry.get("action"),
                )
                for key, entry in writes.items()
            ),
            attempts=row.attempts,
            next_attempt_at=aware(row.next_attempt_at) if row.state == PENDING else None,
            message=_row_message(row, writes),
            version=row.version,
            queued=row.sealed_queued is not None,
            history=tuple(json.loads(row.history or "[]")),
            ended_at=aware(row.updated_at) if row.state in (WRITTEN, FAILED) else None,
            finished_by=self._finished_by(row),
        )

    def _finished_by(self, row: OutboxEntry) -> str | None:
        # The finisher's name is in the sealed plan; a plan no key opens names nobody.
        try:
            display = self._vault.open(row.sealed_plan).get("practitioner_display")
        except SealBroken:
            return None
        return display if isinstance(display, str) else None

    def open_writes(self, row: OutboxEntry) -> dict[str, dict[str, Any]]:
        """The row's per-resource status; none when no configured key opens it."""
        try:
            writes: dict[str, dict[str, Any]] = self._vault.open(row.sealed_writes)
        except SealBroken:
            return {}
        return writes


def dump_strategy(strategy: WriteStrategy | None) -> str | None:
    """A write strategy as stored in its row."""
    return json.dumps(strategy.to_json()) if strategy else None


def load_strategy(value: str | None) -> WriteStrategy | None:
    """A write strategy from its row (None: not decided yet)."""
    return WriteStrategy.from_json(json.loads(value)) if value else None


def _row_message(row: OutboxEntry, writes: dict[str, dict[str, Any]]) -> str | None:
    state, last_error = row.state, row.last_error
    if row.sealed_queued is not None:
        return "Your latest edit is saved in Flip and goes to the chart once this version is in."
    if state == WRITTEN:
        done = "Updated in the chart." if row.version > 1 else "Saved to the chart."
        refused = sorted(
            {str(w.get("resource_type")) for w in writes.values() if w.get("status") == NOT_TAKEN}
        )
        if refused:
            return f"{done} The EHR does not take: {', '.join(refused)}."
        return done
    if state == FAILED:
        if last_error == UNREADABLE_PLAN:
            return UNREADABLE
        if last_error in ("HTTP 401", UNREADABLE_TOKENS):
            return RELAUNCH
        return "The chart refused part of the plan."
    if last_error:
        return "The chart did not answer; Flip keeps trying. Nothing you typed is lost."
    return None
