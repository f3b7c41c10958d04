"""Versions of one visit's plan: finishing again after an edit makes the next version.

One outbox row per plan holds its latest version. A version already written becomes the
`previous` an amendment starts from (smart_app/closing/amending.py), and its outcome goes
to the row's `history`, which the page lists. An edit made while a version is still on
its way waits in `sealed_queued`, and becomes the next version when that one ends: never
lost, never written over a write in flight. The same plan finished twice (a double click,
a second tab) is no new version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fhir_mappings.plan_model import AgreedPlan
from fhir_mappings.writeback import plan_writes
from smart_app.closing.amending import previous_version
from smart_app.closing.outbox_rows import FAILED, PENDING, WRITTEN, load_strategy, now_utc
from smart_app.closing.writer import initial_writes, plan_from_json, plan_to_json
from smart_app.core.models import OutboxEntry
from smart_app.core.vault import SealBroken, Vault


def same_plan(row: OutboxEntry, plan: AgreedPlan, vault: Vault) -> bool:
    """True when `plan` says what the row's latest version (or the queued edit) says."""
    sealed = row.sealed_queued or row.sealed_plan
    try:
        latest = vault.open(sealed)
    except SealBroken:
        return False  # unreadable: the clinician's plan replaces it
    return _content(latest) == _content(plan_to_json(plan))


def queue(row: OutboxEntry, plan: AgreedPlan, vault: Vault) -> None:
    """Keep the edit until the version on its way ends (the worker then takes it up)."""
    row.sealed_queued = vault.seal(plan_to_json(plan))


def begin(row: OutboxEntry, plan: AgreedPlan, vault: Vault, base: str) -> None:
    """Make `plan` the row's next version, to be written as an amendment of the last."""
    strategy = load_strategy(row.strategy)
    assert strategy is not None and row.state in (WRITTEN, FAILED)  # a version ended
    options = strategy.options(base)
    writes: dict[str, dict[str, Any]] = vault.open(row.sealed_writes)
    before = plan_from_json(vault.open(row.sealed_plan))
    history = json.loads(row.history or "[]")
    history.append(
        {
            "version": row.version,
            "state": row.state,
            "finished_at": before.finished_at.isoformat(),
            "ended_at": now_utc().isoformat(),
            "resources": [
                {
                    "resource_type": w.get("resource_type"),
                    "id": w.get("id"),
                    "status": w.get("status"),
                }
                for w in writes.values()
            ],
        }
    )
    # What this version wrote, merged into what earlier ones did (a failed version may
    # have written part of itself; the rest is still the version before's).
    previous: dict[str, Any] = json.loads(row.previous) if row.previous else {"resources": {}}
    written = previous_version(before, options, writes)
    previous = {
        "finished_at": written["finished_at"],
        "resources": {**previous["resources"], **written["resources"]},
    }
    row.history = json.dumps(history)
    row.previous = json.dumps(previous)
    row.version += 1
    row.sealed_plan = vault.seal(plan_to_json(plan))
    row.sealed_writes = vault.seal(initial_writes(plan_writes(plan, options), strategy))
    row.sealed_queued = None
    row.state, row.last_error, row.attempts = PENDING, None, 0
    row.next_attempt_at = row.updated_at = now_utc()


def take_queued(row: OutboxEntry, vault: Vault) -> AgreedPlan | None:
    """The edit that waited for the version that just ended, if any."""
    if row.sealed_queued is None:
        return None
    try:
        return plan_from_json(vault.open(row.sealed_queued))
    except SealBroken:
        row.sealed_queued = None
        return None


def _content(plan_json: Mapping[str, Any]) -> dict[str, Any]:
    # The same plan finished a second later is the same plan.
    return {k: v for k, v in plan_json.items() if k != "finished_at"}
