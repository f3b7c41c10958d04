"""What the page shows of a plan's write-back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any


@dataclass(frozen=True, slots=True)
class ResourceStatus:
    """One resource of the plan: pending, written (with its id) or failed (and why)."""

    key: str
    resource_type: str
    status: str
    id: str | None
    message: str | None
    # In an amendment: created | updated | replaced | unchanged | cancelled (a goal removed).
    action: str | None = None


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
    ended_at: datetime | None = None  # when this version was written, or refused
    finished_by: str | None = None  # the name of the clinician who finished it

    def confirmation(self, zone: tzinfo) -> str | None:
        """What was saved, when, in words: "Saved to the chart at 10:42 EST: the plan with
        2 goals, and the partnering note." None until the chart has confirmed."""
        if self.state != "written" or self.ended_at is None:
            return None
        written = [r for r in self.resources if r.status == "written"]
        goals = sum(1 for r in written if r.resource_type == "Goal" and r.action != "cancelled")
        parts = []
        if any(r.resource_type == "CarePlan" for r in written):
            parts.append(
                "the plan" + (f" with {goals} goal{'s' if goals != 1 else ''}" if goals else "")
            )
        if any(r.key == "plan-note" for r in written):
            parts.append("the plan as a note")
        if any(r.key == "partnering-note" for r in written):
            parts.append("the partnering note")
        done = "Updated in the chart" if self.version > 1 else "Saved to the chart"
        at = self.ended_at.astimezone(zone).strftime("%H:%M %Z")
        if self.finished_by:
            at += f" by {self.finished_by}"
        words = f"{done} at {at}: {', and '.join(parts)}." if parts else f"{done} at {at}."
        refused = sorted({r.resource_type for r in self.resources if r.status == "not-taken"})
        return f"{words} The EHR does not take: {', '.join(refused)}." if refused else words

    def to_json(self, zone: tzinfo = UTC) -> dict[str, Any]:
        """The status as the API returns it; times in words are in the clinic's `zone`."""
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
            "confirmation": self.confirmation(zone),
            "finished_by": self.finished_by,
            "history": [
                {**version, "finished_text": _local(version.get("finished_at"), zone)}
                for version in self.history
            ],
        }


def _local(moment: Any, zone: tzinfo) -> str | None:
    # "3 Dec 10:42 EST": a version's time in the clinic's zone.
    try:
        when = datetime.fromisoformat(str(moment))
    except ValueError:
        return None
    return when.astimezone(zone).strftime("%-d %b %H:%M %Z")
