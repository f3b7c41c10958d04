"""What the clinician sees when the chart refuses, stalls, or is written from two tabs."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import delete

from flip_cli import main as flip
from launch.capabilities import ServerCapabilities
from smart_app.closing.outbox import RELAUNCH, OutboxService
from smart_app.closing.worker import OutboxWorker
from smart_app.closing.writeback_status import WritebackStatus
from smart_app.core import audit
from smart_app.core.db import db
from smart_app.core.models import LaunchSession
from tests.outbox.conftest import TIMEOUT_S, Chart, maya_plan
from tests.outbox.test_random_faults import drive
from tests.outbox.test_strategy import ORACLE


def in_threads(app: Flask, count: int, work: Any) -> list[Any]:
    """Run `work()` in `count` threads released at once, each in its own app context."""
    barrier, results = threading.Barrier(count), [None] * count

    def run(index: int) -> None:
        with app.app_context():
            barrier.wait()
            results[index] = work()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_tabs_finishing_the_same_plan_write_one_careplan(chart: Chart) -> None:
    outbox = chart.outbox()
    plan = maya_plan("plan-two-tabs")
    statuses = in_threads(chart.ehr.flip, 2, lambda: outbox.submit(chart.opened, plan))
    assert [s.plan_id for s in statuses] == [plan.plan_id] * 2
    # Two workers (two processes) racing for the row: one claims it, one finds it taken.
    second = chart.outbox()
    attempts = in_threads(
        chart.ehr.flip, 2, lambda: [outbox.process(plan.plan_id), second.process(plan.plan_id)]
    )
    claimed = [s for pair in attempts for s in pair if s is not None]
    assert claimed and claimed[0].state == "written"
    assert len(chart.search("CarePlan", [("patient", "p1")])) == 1
    assert len(chart.search("Goal", [("patient", "p1")])) == 1
    again = outbox.submit(chart.opened, plan)  # a later double click adds no work
    assert again.state == "written" and again.attempts == 1


def test_a_refused_write_fails_with_the_servers_message_and_resends_after_editing(
    chart: Chart,
) -> None:
    outbox = chart.outbox()
    plan = maya_plan("plan-refused", goal="Play the whole season")
    chart.ehr.fault(status=422, methods=["POST"], path_prefix="/fhir")
    outbox.submit(chart.opened, plan)
    failed = drive(outbox, plan.plan_id)
    assert failed.state == "failed"
    assert failed.attempts == 1  # a 4xx is not retried
    assert {r.status for r in failed.resources} == {"failed"}
    assert {r.message for r in failed.resources} == {"Injected fault: HTTP 422"}
    assert failed.to_json()["message"] == "The chart refused part of the plan."
    assert chart.search("CarePlan", [("patient", "p1")]) == []
    writes = [e.outcome for e in audit.events_for("p1") if e.action == "write-plan"]
    assert writes == ["failed"]

    edited = maya_plan("plan-refused", goal="Play every home game")
    resent = outbox.submit(chart.opened, edited)  # finished again after the edit
    assert resent.state == "pending"
    written = drive(outbox, plan.plan_id)
    assert written.state == "written"
    goals = chart.search("Goal", [("patient", "p1")])
    assert [g["description"]["text"] for g in goals] == ["Play every home game"]


def test_separate_writes_stop_at_the_refused_resource_and_keep_what_was_written(
    chart: Chart,
) -> None:
    outbox = chart.outbox()
    strategy = chart.strategy(transaction=False)
    plan = maya_plan("plan-half")
    chart.ehr.fault(status=400, methods=["POST"], path_prefix="/fhir/CarePlan")
    outbox.submit(chart.opened, plan, strategy=strategy)
    failed = drive(outbox, plan.plan_id)
    by_key = {r.key: r for r in failed.resources}
    assert failed.state == "failed"
    assert by_key["goal-0"].status == "written" and by_key["goal-0"].id
    assert by_key["careplan"].message == "Injected fault: HTTP 400"
    assert "edit the plan and resend" in (by_key["partnering-note"].message or "")
    outbox.submit(chart.opened, plan, strategy=strategy)  # finished again: resent
    assert drive(outbox, plan.plan_id).state == "written"
    assert chart.copies(plan, strategy) == dict.fromkeys(chart.copies(plan, strategy), 1)


def test_a_stalled_chart_keeps_the_plan_pending_and_says_so(chart: Chart) -> None:
    outbox = chart.outbox()
    plan = maya_plan("plan-stalled")
    chart.ehr.fault(status=503, count=None, methods=["POST"], path_prefix="/fhir")
    outbox.submit(chart.opened, plan)
    status = outbox.process(plan.plan_id)
    assert status is not None and status.state == "pending"
    body = status.to_json()
    assert body["attempts"] == 1 and body["next_attempt_at"] is not None
    assert "Flip keeps trying" in body["message"]
    assert {r["status"] for r in body["resources"]} == {"pending"}


def test_a_stalled_provenance_transaction_shows_the_plan_written_while_it_retries(
    chart: Chart,
) -> None:
    outbox = chart.outbox()
    strategy = chart.strategy(transaction=True)
    plan = maya_plan("plan-provenance-stalled")
    # The first transaction (the plan) goes through; the second (its Provenances) meets a
    # chart that stalls once.
    chart.ehr.fault(status=503, skip=1, methods=["POST"], path_prefix="/fhir")
    queued = outbox.submit(chart.opened, plan, strategy=strategy)
    assert queued.resources and all(r.status == "pending" for r in queued.resources)
    first = outbox.process(plan.plan_id)
    assert first is not None and first.state == "pending"
    by_key = {r.key: r for r in first.resources}
    for key in ("goal-0", "careplan", "partnering-note", "preference"):
        assert by_key[key].status == "written" and by_key[key].id, key  # seen on the page
        assert by_key[f"provenance:{key}"].status == "pending"
    careplan = str(by_key["careplan"].id)
    assert drive(outbox, plan.plan_id).state == "written"
    assert chart.copies(plan, strategy) == dict.fromkeys(chart.copies(plan, strategy), 1)
    assert chart.provenances(careplan) == 1


def test_a_timed_out_write_waits_at_least_one_timeout_before_its_retry(chart: Chart) -> None:
    # The write may still be running at the EHR: a retry sooner could miss what it wrote.
    outbox = chart.outbox()  # backoff of at most 10 ms, a write timeout of TIMEOUT_S
    plan = maya_plan("plan-timed-out")
    chart.ehr.fault(latency_ms=1500, when="after", count=1, methods=["POST"], path_prefix="/fhir")
    outbox.submit(chart.opened, plan)
    status = outbox.process(plan.plan_id)
    ended = datetime.now(UTC)
    assert status is not None and status.state == "pending" and status.next_attempt_at
    assert status.next_attempt_at - ended >= timedelta(seconds=TIMEOUT_S / 2)
    time.sleep(1.6)  # let the sandbox finish its late answer before the next test


def test_an_ended_launch_fails_with_relaunch_advice(chart: Chart) -> None:
    outbox = chart.outbox()
    plan = maya_plan("plan-relaunch")
    outbox.submit(chart.opened, plan)
    with db.session() as session:
        session.execute(delete(LaunchSession))
    failed = drive(outbox, plan.plan_id)
    assert failed.state == "failed"
    assert failed.message == RELAUNCH
    assert {r.message for r in failed.resources} == {RELAUNCH}


class OracleLike(ServerCapabilities):
    """A server documented like Oracle Health: CarePlan and Goal read-only."""

    def statement(self, gateway: Any) -> dict[str, Any]:
        return ORACLE


def test_a_server_without_careplan_create_gets_the_plan_as_a_note(chart: Chart) -> None:
    outbox = chart.outbox(capabilities=OracleLike())
    plan = maya_plan("plan-oracle")
    queued = outbox.submit(chart.opened, plan)
    assert [r.key for r in queued.resources] == [
        "plan-note",
        "partnering-note",
        "provenance:plan-note",
        "provenance:partnering-note",
    ]
    assert drive(outbox, plan.plan_id).state == "written"
    assert chart.search("CarePlan", [("patient", "p1")]) == []
    assert chart.search("Goal", [("patient", "p1")]) == []
    notes = chart.search("DocumentReference", [("patient", "p1")])
    types = sorted(n["type"]["coding"][0]["code"] for n in notes)
    assert types == ["11506-3", "18776-5"]  # the partnering note and the Plan of care note


def test_the_worker_thread_writes_a_submitted_plan(chart: Chart) -> None:
    outbox = chart.outbox()
    worker = OutboxWorker(chart.ehr.flip, outbox, poll_s=0.05)
    worker.start()
    try:
        plan = maya_plan("plan-worker")
        outbox.submit(chart.opened, plan)
        status: WritebackStatus | None = None
        for _ in range(100):
            status = outbox.status(plan.plan_id)
            if status is not None and status.state != "pending":
                break
            time.sleep(0.05)
    finally:
        worker.stop()
    assert status is not None and status.state == "written"


def test_flip_outbox_run_once_writes_due_plans(chart: Chart, monkeypatch: Any) -> None:
    plan = maya_plan("plan-cli")
    chart.outbox().submit(chart.opened, plan)
    settings = chart.ehr.flip.config["FLIP_SETTINGS"]
    for name in ("env", "database_url", "registrations_file", "secret_key"):
        monkeypatch.setenv(f"FLIP_{name.upper()}", str(getattr(settings, name)))
    monkeypatch.setenv("FLIP_TOKEN_ENCRYPTION_KEY", settings.token_encryption_key)
    result = CliRunner().invoke(flip, ["outbox", "run", "--once"])
    assert result.exit_code == 0, result.output
    status = OutboxService.status(chart.outbox(), plan.plan_id)
    assert status is not None and status.state == "written", (result.output, status)
