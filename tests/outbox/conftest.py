"""Fixtures of the write-back tests: the sandbox and Flip over real HTTP, one real launch."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests

from fhir_mappings.plan_model import AgreedPlan, PartneringNote, PlanGoal, PlanItem
from fhir_mappings.writeback import plan_writes
from launch.capabilities import ServerCapabilities
from smart_app import OUTBOX_WORKER_KEY
from smart_app.closing.outbox import OutboxService
from smart_app.closing.write_strategy import WriteStrategy, decide_strategy
from smart_app.core.leases import Backoff
from smart_app.services import services
from smart_app.session.launches import OpenLaunch
from tests.e2e.deployment import Browser, Deployment, deploy

TIMEOUT_S = 0.4  # Flip's write timeout in these tests; a "timeout" fault waits longer


@dataclass
class Chart:
    """The sandbox, Flip, one completed launch for Maya (p1), and how to look in the chart."""

    ehr: Deployment
    opened: OpenLaunch

    def outbox(
        self, *, capabilities: ServerCapabilities | None = None, seed: int = 0
    ) -> OutboxService:
        """An outbox with tiny backoff and a short timeout, as the app wires it otherwise."""
        return OutboxService(
            services().launches,
            services().vault,
            canonical_base=services().settings.canonical_base,
            backoff=Backoff(0.001, 0.01),
            timeout_s=TIMEOUT_S,
            capabilities=capabilities,
            rng=random.Random(seed),
        )

    def strategy(self, *, transaction: bool | None = None) -> WriteStrategy:
        """The write strategy Flip decides for this chart; `transaction` overrides its choice."""
        statement = ServerCapabilities().statement(services().gateway(self.opened))
        registration = services().launches.client.registrations.find(self.opened.context.iss)
        decided = decide_strategy(statement, self.opened.context.granted_scopes, registration)
        return decided if transaction is None else replace(decided, transaction=transaction)

    def search(self, resource_type: str, params: list[tuple[str, str]]) -> list[dict[str, Any]]:
        """Every match in the sandbox, read through its open FHIR base (no faults there)."""
        url = f"{self.ehr.sandbox.open_fhir_base}/{resource_type}"
        answer = requests.get(url, params=[*params, ("_count", "100")], timeout=10)
        assert answer.status_code == 200, answer.text
        return [e["resource"] for e in answer.json().get("entry") or []]

    def copies(self, plan: AgreedPlan, strategy: WriteStrategy) -> dict[str, int]:
        """How many of each planned resource the chart holds, found by Flip's identifier."""
        base = services().settings.canonical_base
        return {
            w.key: len(self.search(w.resource_type, parse_qsl(w.if_none_exist or "")))
            for w in plan_writes(plan, strategy.options(base))
        }

    def provenances(self, target: str) -> int:
        """How many Provenances name `target` ("CarePlan/123")."""
        return len(self.search("Provenance", [("target", target)]))


def maya_plan(plan_id: str, *, goal: str = "Play the whole lacrosse season") -> AgreedPlan:
    """The plan Maya, her mom and the clinician agreed."""
    now = datetime.now(UTC)
    return AgreedPlan(
        plan_id=plan_id,
        patient_id="p1",
        encounter_id="e-p1",
        practitioner_ref="Practitioner/dr1",
        items=(
            PlanItem("Vest before away games", "Maya", "now", None),
            PlanItem(
                "Call the RT about a travel vest", "mom", "later", (now + timedelta(14)).date()
            ),
        ),
        goals=(PlanGoal(goal),),
        follow_up="Clinic in 3 months",
        partnering_note=PartneringNote(
            style="talk-options",
            learning_preferences=("written",),
            text="Maya leads; her mom fills in dates.",
        ),
        outcomes=(),
        something_else_asked=True,
        something_else_added=(),
        visit_start=now - timedelta(minutes=30),
        finished_at=now,
    )


@pytest.fixture
def chart(database_url: str, tmp_path: Path) -> Iterator[Chart]:
    """Flip launched from Maya's chart; tests run inside Flip's app context."""
    with deploy(database_url, tmp_path) as ehr:
        # These tests drive the outbox themselves: the deployment's own worker stands by.
        worker = ehr.flip.extensions.get(OUTBOX_WORKER_KEY)
        if worker is not None:
            worker.stop()
        browser = Browser()
        browser.launch(ehr.ehr_launch_url("p1", "e-p1"))
        landed = [
            r.headers["Location"] for r in browser.seen if r.status_code == 303
        ]  # the callback sends the browser to /l/<launch id>/
        match = re.search(r"/l/([^/]+)/", landed[-1])
        assert match, landed
        with ehr.flip.app_context():
            opened = services().launches.open(
                match.group(1), browser_id=None, tab_binding=browser.tab_binding(landed[-1])
            )
            yield Chart(ehr, opened)
