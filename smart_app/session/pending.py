"""Pending launches expire: rows `/launch` stored and no callback used are purged.

`/launch` needs no sign-in, so what it stores must not outlive its use: a pending launch
older than this is refused by the callback anyway (launch/flow.py), and deleted here, on
start (of the app, of every `flip` command) and by the write-back worker every minute.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from launch.flow import PENDING_LIFETIME_S
from smart_app.core.db import db
from smart_app.core.models import PendingLaunch

# Kept a while past its lifetime, so a late callback still hears "this launch took too
# long" rather than "this sign-in doesn't belong to this window".
PURGE_AFTER = timedelta(seconds=PENDING_LIFETIME_S * 6)


def purge_expired(*, now: datetime | None = None) -> int:
    """Delete the pending launches past PURGE_AFTER; how many were deleted."""
    cutoff = (now or datetime.now(UTC)) - PURGE_AFTER
    with db.session() as session:
        result = session.execute(delete(PendingLaunch).where(PendingLaunch.created_at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
