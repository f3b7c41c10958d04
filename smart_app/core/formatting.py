"""Template filters: how times read at a glance ("sent 2 days ago")."""

from __future__ import annotations

from datetime import datetime


def ago(moment: datetime | None, now: datetime) -> str:
    """`today`, `yesterday` or `N days ago`, counted in calendar days where `now` is."""
    if moment is None:
        return "before the visit"
    if moment.tzinfo and now.tzinfo:
        moment = moment.astimezone(now.tzinfo)
    days = (now.date() - moment.date()).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{days} days ago"


ORIGIN_LABELS = {
    "last-plan-activity": "from the last plan",
    "last-plan-goal": "goal from the last plan",
    "last-plan-deferred": "deferred at the last visit",
    "encounter-reason": "booked reason",
    "appointment-reason": "booked reason",
}


def origin_label(origin: str) -> str:
    """How an agenda item's origin reads on the page ("from the last plan")."""
    return ORIGIN_LABELS.get(origin, origin.replace("-", " "))
