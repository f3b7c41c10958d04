"""Exactly once under fire: random 5xx/429 (before and after the write), timeouts and
dropped connections on every FHIR write, and still each resource is in the chart once."""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import requests

from fhir_mappings.codes import identifier_system
from smart_app.closing.outbox import OutboxService
from smart_app.closing.writeback_status import WritebackStatus
from smart_app.services import services
from tests.outbox.conftest import TIMEOUT_S, Chart, maya_plan

RUNS = 200
AMEND_RUNS = 200  # each run writes a plan, then its amendment under fire
LATE_MS = int(TIMEOUT_S * 1000) + 200  # longer than Flip waits: a timeout


def random_faults(rng: random.Random) -> list[dict[str, Any]]:
    """One to three faults on FHIR POSTs: statuses, timeouts, drops; before or after."""
    faults = []
    for _ in range(rng.randint(1, 3)):
        fault: dict[str, Any] = {
            "methods": ["POST"],
            "path_prefix": "/fhir",
            "count": rng.randint(1, 3),
            "when": rng.choice(["before", "after"]),
            "probability": rng.choice([1.0, 0.7, 0.4]),
        }
        kind = rng.choices(["status", "timeout", "drop"], weights=[5, 1, 3])[0]
        if kind == "status":
            fault["status"] = rng.choice([500, 502, 503, 504, 429])
        elif kind == "timeout":
            fault["latency_ms"], fault["count"] = LATE_MS, 1
        else:
            fault["drop"] = True
        faults.append(fault)
    return faults


def drive(outbox: OutboxService, plan_id: str, *, within_s: float = 60) -> WritebackStatus:
    """Attempt the row as the worker would, waiting out each backoff; the final status."""
    give_up = time.monotonic() + within_s
    while True:
        status = outbox.process(plan_id) or outbox.status(plan_id)
        assert status is not None
        if status.state != "pending" or time.monotonic() > give_up:
            return status
        if status.next_attempt_at is not None:
            wait = (status.next_attempt_at - datetime.now(UTC)).total_seconds()
            time.sleep(max(0.0, wait))


def test_random_faults_still_write_each_resource_exactly_once(chart: Chart) -> None:
    decided = chart.strategy()
    faults_url = f"{chart.ehr.sandbox.url}/_sandbox/faults"
    started, attempts = time.perf_counter(), 0
    for run in range(RUNS):
        seed = 5000 + run
        rng = random.Random(seed)
        strategy = replace(decided, transaction=rng.random() < 0.5)
        faults = random_faults(rng)
        requests.delete(faults_url, timeout=5)
        for fault in faults:
            assert requests.post(faults_url, json=fault, timeout=5).status_code == 201
        plan = maya_plan(f"random-{seed}")
        outbox = chart.outbox(seed=seed)
        outbox.submit(chart.opened, plan, strategy=strategy)
        status = drive(outbox, plan.plan_id)
        requests.delete(faults_url, timeout=5)
        where = f"seed {seed}, transaction={strategy.transaction}, faults={faults}"
        assert status.state == "written", f"{where}: {status.to_json()}"
        copies = chart.copies(plan, strategy)
        assert set(copies.values()) == {1}, f"{where}: copies {copies}"
        for resource in status.resources:
            if resource.resource_type != "Provenance":
                assert resource.id is not None
                assert chart.provenances(resource.id) == 1, f"{where}: {resource.id}"
        attempts += status.attempts
    elapsed = time.perf_counter() - started
    print(f"{RUNS} randomized runs, {attempts} attempts, {elapsed:.1f}s")
    assert attempts > RUNS  # the faults did make Flip retry


def test_random_faults_on_an_amendment_write_each_version_exactly_once(chart: Chart) -> None:
    faults_url = f"{chart.ehr.sandbox.url}/_sandbox/faults"
    system = identifier_system(services().settings.canonical_base)
    for run in range(AMEND_RUNS):
        seed = 9000 + run
        rng = random.Random(seed)
        plan = maya_plan(f"amend-{seed}")
        outbox = chart.outbox(seed=seed)
        outbox.submit(chart.opened, plan)
        assert drive(outbox, plan.plan_id).state == "written"
        faults = random_faults(rng)
        for fault in faults:
            fault["methods"] = ["POST", "PUT"]  # the amendment's creates and updates
            assert requests.post(faults_url, json=fault, timeout=5).status_code == 201
        goal = f"Goal of run {seed}"
        assert plan.partnering_note is not None
        change = replace(
            plan,
            goals=(replace(plan.goals[0], text=goal),),
            partnering_note=replace(plan.partnering_note, text=f"Note of run {seed}"),
        )
        outbox.submit(chart.opened, change)
        status = drive(outbox, plan.plan_id)
        requests.delete(faults_url, timeout=5)
        where = f"seed {seed}, faults={faults}"
        assert status.state == "written" and status.version == 2, f"{where}: {status.to_json()}"

        def found(resource_type: str, value: str) -> list[dict[str, Any]]:
            return chart.search(resource_type, [("identifier", f"{system}|{value}")])

        (goal_written,) = found("Goal", f"goal/{plan.plan_id}/0")  # updated in place, once
        assert goal_written["description"]["text"] == goal, where
        assert len(found("CarePlan", f"careplan/{plan.plan_id}")) == 1, where
        (old,) = found("DocumentReference", f"partnering-note/{plan.plan_id}")
        (new,) = found("DocumentReference", f"partnering-note/{plan.plan_id}/v2")
        assert old["status"] == "superseded" and new["status"] == "current", where
