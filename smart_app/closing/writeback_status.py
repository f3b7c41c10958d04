"""What the page shows of a plan's write-back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ResourceStatus:
    """One resource of the plan: pending, written (with its id) or failed (and why)."""

    key: str
    resource_type: str
    status: str
    id: str | None
    message: str | None
    action: str | None = None  # in an amendment: created | updated | replaced | unchanged


@dataclass(frozen=True, slots=True)
class WritebackStatus:
    """What of a plan is saved to the chart, what is pending, and what failed."""

    plan_id: str
    state: str  # pending | written | failed
    resources: tuple[ResourceStatus, ...]
    attempts: int
    next_attempt_at: datetime | None
    message: str | None = None
    version: int = 1  # finishing again after an edit makes the next version
    queued: bool = False  # an edit waits for this version to end
    # Each earlier version: {"version", "state", "finished_at", "ended_at", "resources"}.
    history: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The status as the API returns it."""
        return {
            "plan_id": self.plan_id,
            "state": self.state,
            "resources": [
                {
                    "key": r.key,
                    "resource_type": r.resource_type,
                    "status": r.status,
                    "id": r.id,
                    "message": r.message,
                    "action": r.action,
                }
                for r in self.resources
            ],
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "message": self.message,
            "version": self.version,
            "queued": self.queued,
            "history": list(self.history),
        }
