"""What the page shows of a plan's write-back, and how long the outbox waits to retry."""

from __future__ import annotations

import random
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


@dataclass(frozen=True, slots=True)
class WritebackStatus:
    """What of a plan is saved to the chart, what is pending, and what failed."""

    plan_id: str
    state: str  # pending | written | failed
    resources: tuple[ResourceStatus, ...]
    attempts: int
    next_attempt_at: datetime | None
    message: str | None = None

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
                }
                for r in self.resources
            ],
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at.isoformat() if self.next_attempt_at else None,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with full jitter: a random delay in [0, min(cap, base * 2^n))."""

    base_s: float
    cap_s: float

    def delay(self, attempts: int, rng: random.Random) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        return rng.uniform(0, min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1)))
