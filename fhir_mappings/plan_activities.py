"""The CarePlan's activities of an agreed plan: its items, and the agenda lines deferred.

"now" was done in the room (`completed`); "later" has not begun and comes back next visit
(`not-started`); a deferred line is `on-hold` with why, so the next visit brings it back
(https://hl7.org/fhir/R4/valueset-care-plan-activity-status.html).
"""

from __future__ import annotations

from typing import Any

from fhir_mappings.narrative import clean, has_words
from fhir_mappings.plan_model import AgreedPlan

Resource = dict[str, Any]


def plan_activities(plan: AgreedPlan) -> list[Resource]:
    """Each activity of the plan's CarePlan, items first, then the deferred lines."""
    # A deferred agenda line also agreed "to do after" ("Add to plan") is one activity: on
    # hold with why, and the agreed item's owner and date.
    deferred_texts = {
        clean(o.text).casefold()
        for o in plan.outcomes
        if o.status == "deferred" and has_words(o.text)
    }
    agreed_later: dict[str, Resource] = {}
    activities = []
    for item in plan.items:
        if not has_words(item.text):
            continue
        # "now" was done in the room; "later" has not begun and comes back next visit
        # (https://hl7.org/fhir/R4/valueset-care-plan-activity-status.html).
        detail: Resource = {
            "status": "completed" if item.when == "now" else "not-started",
            "description": clean(item.text),
        }
        if item.due is not None:
            detail["scheduledPeriod"] = {"end": item.due.isoformat()}
        if item.owner is not None and has_words(item.owner):
            # Owners are words ("mom", "RT"), not chart resources: a display-only Reference.
            detail["performer"] = [{"display": clean(item.owner)}]
        text = clean(item.text).casefold()
        if item.when == "later" and text in deferred_texts:
            agreed_later.setdefault(text, detail)
            continue
        activities.append({"detail": detail})
    for outcome in plan.outcomes:
        if outcome.status == "deferred" and has_words(outcome.text):
            # Deferred to another visit, with why: on hold, so the next visit brings it back.
            agreed = agreed_later.pop(clean(outcome.text).casefold(), {})
            deferred: Resource = {**agreed, "status": "on-hold", "description": clean(outcome.text)}
            if outcome.reason and has_words(outcome.reason):
                deferred["statusReason"] = {"text": clean(outcome.reason)}
            activities.append({"detail": deferred})
    return activities
