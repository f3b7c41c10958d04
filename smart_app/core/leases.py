"""Outbox rows leased by one worker at a time and retried with backoff: what every outbox
(the plan's in closing/, the pre-visit answers' in previsit/) shares.

A row is due while its state is `pending` and its next attempt is due. A worker claims it
with one atomic UPDATE (of two racing, exactly one wins), and every change it makes during
the attempt goes through its lease: a worker that lost its lease (another took the row
over) changes nothing more and stops (`LeaseLost`). Temporary failures wait an exponential
backoff with full jitter (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
The table needs the columns `state`, `attempts`, `next_attempt_at`, `last_error`,
`lease_owner`, `lease_until`, `updated_at` and a unique string key.
"""

from __future__ import annotations

import os
import random
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, Result, or_, select, update

from smart_app.core.db import db

PENDING = "pending"


class LeaseLost(Exception):
    """Another worker took this row over (this one was too slow): stop quietly."""


class DueProcessor(Protocol):
    """An outbox the worker drives: it attempts its due rows, and can be woken."""

    def process_due(self, *, limit: int = 20) -> int:
        """Attempt due rows; how many were attempted."""
        ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^n))."""

    base_s: float
    cap_s: float

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        return rng.uniform(0, min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1)))


class Leases:
    """Claims, changes under lease and ends the attempts of one table's rows, by key."""

    def __init__(
        self,
        model: Any,
        key: str,
        *,
        backoff: Backoff,
        timeout_s: float,
        rng: random.Random,
    ) -> None:
        self._model = model
        self._key = getattr(model, key)
        self._backoff = backoff
        self._timeout_s = timeout_s
        self._rng = rng
        # Long enough for one attempt's requests to time out one by one.
        self._lease = timedelta(seconds=timeout_s * 20 + 30)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def due(self, limit: int) -> list[str]:
        """The keys of pending rows whose next attempt is due and that nobody holds."""
        model, now = self._model, now_utc()
        with db.session() as session:
            return list(
                session.scalars(
                    select(self._key)
                    .where(
                        model.state == PENDING,
                        model.next_attempt_at <= now,
                        or_(model.lease_until.is_(None), model.lease_until < now),
                    )
                    .order_by(model.next_attempt_at)
                    .limit(limit)
                ).all()
            )

    def claim(self, key: str) -> bool:
        """Take the lease of a pending row; False when another worker holds it."""
        # One atomic UPDATE: of two workers racing, exactly one sees its row count be 1.
        model, now = self._model, now_utc()
        with db.session() as session:
            claimed = session.execute(
                update(model)
                .where(
                    self._key == key,
                    model.state == PENDING,
                    or_(model.lease_until.is_(None), model.lease_until < now),
                )
                .values(lease_owner=self.owner, lease_until=now + self._lease)
            )
            return rowcount(claimed) == 1

    def save(self, key: str, **values: Any) -> None:
        """Change the row (only while this worker holds the lease; extends it)."""
        now = now_utc()
        changes: dict[str, Any] = {"updated_at": now, "lease_until": now + self._lease, **values}
        with db.session() as session:
            saved = session.execute(
                update(self._model)
                .where(self._key == key, self._model.lease_owner == self.owner)
                .values(**changes)
            )
            if rowcount(saved) != 1:
                raise LeaseLost(key)

    def end_attempt(self, key: str, **changes: Any) -> None:
        """Count the attempt, save its outcome and give up the lease."""
        self.save(
            key,
            attempts=self._model.attempts + 1,
            lease_owner=None,
            lease_until=None,
            **changes,
        )

    def retry(self, key: str, error: str, *, timed_out: bool) -> tuple[int, float]:
        """End the attempt, to try again after a backoff; (attempts so far, the delay)."""
        with db.session() as session:
            attempts = session.scalar(select(self._model.attempts).where(self._key == key))
        attempts = (attempts or 0) + 1  # this attempt, counted by end_attempt below
        delay = self._backoff.delay(attempts, self._rng)
        # A request that timed out may still be running on the server: give it at least as
        # long again before a retry, so the retry's conditional write sees its result.
        if timed_out:
            delay = max(delay, self._timeout_s)
        self.end_attempt(
            key, next_attempt_at=now_utc() + timedelta(seconds=delay), last_error=error
        )
        return attempts, delay


def now_utc() -> datetime:
    """Now, timezone-aware."""
    return datetime.now(UTC)


def aware(moment: datetime) -> datetime:
    """A datetime read back from the database, timezone-aware."""
    # SQLite hands back naive datetimes even for timezone-aware columns; they are UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE matched."""
    # An UPDATE's result is a CursorResult: its rowcount is the rows matched.
    return int(cast(CursorResult[Any], result).rowcount)
