"""The agreed plan reaches the sandbox chart through the outbox: once, with Provenance."""

from __future__ import annotations

import pytest

from smart_app.closing.outbox import OutboxService
from smart_app.core import audit
from tests.outbox.conftest import Chart, maya_plan


def drive(outbox: OutboxService, plan_id: str, *, passes: int = 50) -> str:
    """Process the plan's row until it is no longer pending; its final state."""
    for _ in range(passes):
        status = outbox.process(plan_id)
        if status is not None and status.state != "pending":
            return status.state
    found = outbox.status(plan_id)
    assert found is not None
    return found.state


@pytest.mark.parametrize("transaction", [True, False], ids=["transaction", "separate"])
def test_outbox_writes_each_resource_once_with_a_provenance_per_target(
    chart: Chart, transaction: bool
) -> None:
    outbox = chart.outbox()
    strategy = chart.strategy(transaction=transaction)
    plan = maya_plan(f"plan-{transaction}")

    queued = outbox.submit(chart.opened, plan, strategy=strategy)
    assert queued.state == "pending"
    assert {r.status for r in queued.resources} == {"pending"}
    assert drive(outbox, plan.plan_id) == "written"

    status = outbox.status(plan.plan_id)
    assert status is not None
    written = {r.key: r for r in status.resources}
    assert {r.status for r in status.resources} == {"written"}
    assert set(written) >= {"goal-0", "careplan", "partnering-note", "preference"}
    assert chart.copies(plan, strategy) == dict.fromkeys(chart.copies(plan, strategy), 1)
    for key in ("goal-0", "careplan", "partnering-note", "preference"):
        target = written[key].id
        assert target is not None and target.startswith(written[key].resource_type)
        assert chart.provenances(target) == 1
        assert written[f"provenance:{key}"].id is not None
    careplan_id = str(written["careplan"].id).split("/")[1]
    careplan = chart.search("CarePlan", [("_id", careplan_id)])[0]
    assert careplan["goal"] == [{"reference": written["goal-0"].id}]
    (event,) = [e for e in audit.events_for("p1") if e.action == "write-plan"]
    assert (event.user, event.outcome) == ("Practitioner/dr1", "written")
    assert written["careplan"].id in event.resource_ids.split()
    assert "lacrosse" not in event.resource_ids.lower()  # ids only


def test_outbox_status_json_lists_each_resource_with_its_id(chart: Chart) -> None:
    outbox = chart.outbox()
    plan = maya_plan("plan-json")
    outbox.submit(chart.opened, plan)
    drive(outbox, plan.plan_id)
    status = outbox.status(plan.plan_id)
    assert status is not None
    body = status.to_json()
    assert body["state"] == "written"
    assert body["next_attempt_at"] is None
    assert body["message"] == "Saved to the chart."
    careplan = next(r for r in body["resources"] if r["key"] == "careplan")
    assert careplan == {
        "key": "careplan",
        "resource_type": "CarePlan",
        "status": "written",
        "id": careplan["id"],
        "message": None,
        "action": None,  # a first version: no amendment
    }
    assert careplan["id"].startswith("CarePlan/")
