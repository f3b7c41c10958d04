"""Each launch's last read of the chart, kept sealed in the database.

The visit page reads the chart; the agenda actions (merge, split) reuse that read while
it is younger than a configured age, and finishing reuses it whatever its age, so a
clinician's Finish is an outbox commit that never waits for the EHR, nor fails while it
is down (the outbox writes when the EHR answers). Rows expire with their launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete

from smart_app.core.db import db, upsert
from smart_app.core.models import ChartRead
from smart_app.core.vault import SealBroken, Vault, digest

# A read is kept as long as a launch lives (session/launches.py LAUNCH_LIFETIME).
KEPT_FOR = timedelta(hours=12)
# Reuse a read whatever its age (finishing).
ANY_AGE = timedelta.max


@dataclass(frozen=True, slots=True)
class KeptRead:
    """The search results of one read, by name, and when they were read."""

    results: dict[str, list[dict[str, Any]]]
    refused: tuple[str, ...]  # the resource types the EHR refused to let Flip search
    read_at: datetime
    cut_short: tuple[str, ...] = ()  # the resource types with more pages than Flip reads


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete the reads of expired launches (sealed PHI they no longer need); how many.

    On Flip's start and by the write-back worker's passes, off the page's path.
    """
    with db.session() as session:
        found = session.execute(
            delete(ChartRead).where(ChartRead.expires_at <= (now or datetime.now(UTC)))
        )
        return int(getattr(found, "rowcount", 0) or 0)


class ChartReads:
    """Keeps and finds each launch's last chart read."""

    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    def keep(self, launch_id: str, read: KeptRead) -> None:
        """Keep this read as the launch's last one."""
        now = datetime.now(UTC)
        sealed = self._vault.seal(
            {
                "results": read.results,
                "refused": list(read.refused),
                "cut_short": list(read.cut_short),
            }
        )
        row = {
            "launch_hash": digest(launch_id),
            "sealed_results": sealed,
            "read_at": now,
            "expires_at": now + KEPT_FOR,
        }
        with db.session() as session:
            upsert(session, ChartRead, row, key="launch_hash")

    def last(self, launch_id: str, *, younger_than: timedelta) -> KeptRead | None:
        """The launch's last read when it is younger than `younger_than`, else None."""
        with db.session() as session:
            row = session.get(ChartRead, digest(launch_id))
            if row is None:
                return None
            read_at = row.read_at if row.read_at.tzinfo else row.read_at.replace(tzinfo=UTC)
            sealed = row.sealed_results
        if datetime.now(UTC) - read_at >= younger_than:
            return None
        try:
            kept = self._vault.open(sealed)
        except SealBroken:
            return None  # sealed under a key no longer configured: read the chart again
        return KeptRead(
            kept["results"], tuple(kept["refused"]), read_at, tuple(kept.get("cut_short", ()))
        )
