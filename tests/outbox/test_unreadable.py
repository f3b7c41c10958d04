"""An outbox row no configured key opens ends `failed`, saying why; it is never retried."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from flask import Flask

from smart_app import create_app
from smart_app.closing.outbox_rows import FAILED, RELAUNCH, UNREADABLE, dump_strategy
from smart_app.closing.write_strategy import WriteStrategy
from smart_app.closing.writer import plan_to_json
from smart_app.core.db import db
from smart_app.core.migrate import upgrade
from smart_app.core.models import LaunchSession, OutboxEntry
from smart_app.services import services
from tests.outbox.conftest import maya_plan

ISS = "https://ehr.example.org/fhir"
LOST = Fernet(Fernet.generate_key())


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """Flip on a migrated database; the tests drive the outbox themselves."""
    upgrade(database_url)
    flip = create_app({"env": "testing", "database_url": database_url})
    with flip.app_context():
        yield flip
    flip.extensions["flip_db"][0].dispose()


def queue(plan_id: str, *, sealed_plan: str | None = None, tokens: str | None = None) -> None:
    """An outbox row as `submit` leaves it, with its launch's tokens."""
    vault, now = services().vault, datetime.now(UTC)
    strategy = WriteStrategy(
        transaction=True, plan_as_careplan=True, write_observation=True, write_provenance=True
    )
    with db.session() as session:
        session.add(
            LaunchSession(
                id_hash=f"{plan_id}-launch", iss=ISS, patient="p1",
                sealed_context=vault.seal({}),
                sealed_tokens=tokens or vault.seal({"access_token": "at"}),
                browser_hash=None, created_at=now, expires_at=now + timedelta(hours=1),
            )
        )  # fmt: skip
        session.add(
            OutboxEntry(
                plan_id=plan_id, launch_hash=f"{plan_id}-launch", iss=ISS, patient="p1",
                encounter="e-p1", strategy=dump_strategy(strategy),
                sealed_plan=sealed_plan or vault.seal(plan_to_json(maya_plan(plan_id))),
                sealed_writes=vault.seal({}), state="pending", next_attempt_at=now,
                created_at=now, updated_at=now,
            )
        )  # fmt: skip


def test_a_plan_no_key_opens_ends_failed_with_the_reason(app: Flask) -> None:
    queue("plan-lost", sealed_plan=LOST.encrypt(b"{}").decode())
    outbox = services().outbox
    status = outbox.process("plan-lost")
    assert status is not None
    assert (status.state, status.message, status.attempts) == (FAILED, UNREADABLE, 1)
    assert outbox.process_due() == 0  # ended: no worker takes it again
    assert outbox.status("plan-lost") == status


def test_tokens_no_key_opens_end_the_plan_failed_asking_for_a_relaunch(app: Flask) -> None:
    queue("plan-no-tokens", tokens=LOST.encrypt(b"{}").decode())
    outbox = services().outbox
    status = outbox.process("plan-no-tokens")
    assert status is not None
    assert (status.state, status.message) == (FAILED, RELAUNCH)
    assert all(r.message == RELAUNCH for r in status.resources)
    assert outbox.process_due() == 0
