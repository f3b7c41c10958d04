"""The outbox's rows: inserted once per plan, leased by one worker, ended with an outcome.

Every change an attempt makes goes through the lease: a worker that lost its lease
(another took the row over) changes nothing more and stops (`LeaseLost`). Rows hold the
plan and its writes sealed with the vault; the status shown to the page is read from here.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, or_, select, update
from sqlalchemy.exc import IntegrityError

from smart_app.closing.write_strategy import WriteStrategy
from smart_app.closing.writeback_status import Backoff, ResourceStatus, WritebackStatus
from smart_app.closing.writer import NOT_TAKEN, SKIPPED
from smart_app.core.db import db
from smart_app.core.models import OutboxEntry
from smart_app.core.vault import Vault

log = logging.getLogger(__name__)

PENDING, WRITTEN, FAILED = "pending", "written", "failed"
RELAUNCH = "Flip's access to the chart has ended: relaunch Flip from the chart to resend."
NOT_SENT = "Not sent because of the error above: edit the plan and resend."


class LeaseLost(Exception):
    """Another worker took this row over (this one was too slow): stop quietly."""


class OutboxRows:
    """Reads and changes outbox rows; a change during an attempt needs this worker's lease."""

    def __init__(
        self, vault: Vault, *, backoff: Backoff, timeout_s: float, rng: random.Random
    ) -> None:
        self._vault = vault
        self._backoff = backoff
        self._timeout_s = timeout_s
        self._rng = rng
        # Long enough for one attempt's requests to time out one by one.
        self._lease = timedelta(seconds=timeout_s * 20 + 30)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

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
        now = now_utc()
        with db.session() as session:
            return list(
                session.scalars(
                    select(OutboxEntry.plan_id)
                    .where(
                        OutboxEntry.state == PENDING,
                        OutboxEntry.next_attempt_at <= now,
                        or_(OutboxEntry.lease_until.is_(None), OutboxEntry.lease_until < now),
                    )
                    .order_by(OutboxEntry.next_attempt_at)
                    .limit(limit)
                ).all()
            )

    def claim(self, plan_id: str) -> bool:
        """Take the lease of a pending row; False when another worker holds it."""
        # One atomic UPDATE: of two workers racing, exactly one sees its row count be 1.
        now = now_utc()
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

    def save(self, plan_id: str, **changes: Any) -> None:
        """Save an attempt's progress (only while this worker holds the lease; extends it)."""
        values: dict[str, Any] = {"updated_at": now_utc(), "lease_until": now_utc() + self._lease}
        if "writes" in changes:
            values["sealed_writes"] = self._vault.seal(changes.pop("writes"))
        if "strategy" in changes:
            values["strategy"] = dump_strategy(changes.pop("strategy"))
        values.update(changes)
        with db.session() as session:
            saved = session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.plan_id == plan_id, OutboxEntry.lease_owner == self.owner)
                .values(**values)
            )
            if _rowcount(saved) != 1:
                raise LeaseLost(plan_id)

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

    def retry(self, plan_id: str, error: str, *, timed_out: bool) -> None:
        """End the attempt: try again after a backoff."""
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
            plan_id, next_attempt_at=now_utc() + timedelta(seconds=delay), last_error=error
        )
        log.info("outbox: attempt %d failed (%s); retry in %.2fs", attempts, error, delay)

    def _end_attempt(self, plan_id: str, **changes: Any) -> None:
        """Count the attempt, save its outcome and give up the lease."""
        self.save(
            plan_id,
            attempts=OutboxEntry.attempts + 1,
            lease_owner=None,
            lease_until=None,
            **changes,
        )

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
            message=_row_message(row.state, row.last_error, writes),
        )


def dump_strategy(strategy: WriteStrategy | None) -> str | None:
    """A write strategy as stored in its row."""
    return json.dumps(strategy.to_json()) if strategy else None


def load_strategy(value: str | None) -> WriteStrategy | None:
    """A write strategy from its row (None: not decided yet)."""
    return WriteStrategy.from_json(json.loads(value)) if value else None


def now_utc() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


def _row_message(
    state: str, last_error: str | None, writes: dict[str, dict[str, Any]]
) -> str | None:
    if state == WRITTEN:
        refused = sorted(
            {str(w.get("resource_type")) for w in writes.values() if w.get("status") == NOT_TAKEN}
        )
        if refused:
            return f"Saved to the chart. The EHR does not take: {', '.join(refused)}."
        return "Saved to the chart."
    if state == FAILED:
        return RELAUNCH if last_error == "HTTP 401" else "The chart refused part of the plan."
    if last_error:
        return "The chart did not answer; Flip keeps trying. Nothing you typed is lost."
    return None


def _rowcount(result: Result[Any]) -> int:
    # An UPDATE's result is a CursorResult: its rowcount is the rows matched.
    return int(cast(CursorResult[Any], result).rowcount)


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes even for timezone-aware columns; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
