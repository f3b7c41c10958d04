"""The doors open before sign-in: rate-limited per address; what they store expires, and
so do the chart reads of expired launches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from smart_app.closing import worker as worker_module
from smart_app.closing.worker import OutboxWorker
from smart_app.core.config import ConfigurationError, load_settings
from smart_app.core.db import db
from smart_app.core.migrate import upgrade
from smart_app.core.models import ChartRead, PendingLaunch
from smart_app.services import services
from smart_app.session.pending import PURGE_AFTER, purge_expired
from tests.app.conftest import MakeApp

ISS = "https://unknown-ehr.example.org/fhir"
NOW = datetime.now(UTC)


def sqlite(folder: Path) -> str:
    """A database of the test's own (these tests store nothing in it)."""
    return f"sqlite:///{folder / 'flip.sqlite3'}"


def from_address(address: str) -> dict[str, str]:
    return {"REMOTE_ADDR": address}


def test_launches_past_the_limit_get_a_page_saying_to_wait(
    make_app: MakeApp, tmp_path: Path
) -> None:
    client = make_app(database_url=sqlite(tmp_path), launch_rate_limit="3 per minute").test_client()
    for _ in range(3):
        page = client.get(f"/launch?iss={ISS}&launch=x", environ_base=from_address("10.0.0.7"))
        assert page.status_code == 400  # an unknown EHR, answered: within the limit
    page = client.get(f"/launch?iss={ISS}&launch=x", environ_base=from_address("10.0.0.7"))
    assert page.status_code == 429
    text = page.get_data(as_text=True)
    assert "Too many launches at once" in text
    assert "Wait a minute, then open Flip again from the patient&#39;s chart." in text
    other = client.get(f"/launch?iss={ISS}&launch=x", environ_base=from_address("10.0.0.8"))
    assert other.status_code == 400  # another address keeps its own budget


def test_callbacks_past_the_limit_get_429(make_app: MakeApp, tmp_path: Path) -> None:
    client = make_app(database_url=sqlite(tmp_path), launch_rate_limit="2 per minute").test_client()
    answers = [
        client.get("/callback?error=access_denied&state=x", environ_base=from_address("10.0.0.9"))
        for _ in range(3)
    ]
    assert [a.status_code for a in answers][:2] != [429, 429]
    assert answers[2].status_code == 429
    assert b"Too many launches at once" in answers[2].data


def test_the_default_limit_lets_a_busy_clinic_launch(make_app: MakeApp, tmp_path: Path) -> None:
    client = make_app(database_url=sqlite(tmp_path)).test_client()
    statuses = {client.get(f"/launch?iss={ISS}&launch=x").status_code for _ in range(100)}
    assert statuses == {400}


def test_a_malformed_limit_is_refused_by_name() -> None:
    with pytest.raises(ConfigurationError, match="FLIP_LAUNCH_RATE_LIMIT"):
        load_settings({"env": "testing", "launch_rate_limit": "lots"})


def pending(state: str, age: timedelta) -> PendingLaunch:
    """A pending launch stored `age` ago."""
    sealed = Fernet(Fernet.generate_key()).encrypt(b"{}").decode()
    return PendingLaunch(
        state_hash=state.ljust(64, "0"), sealed=sealed, browser_hash=None,
        binding_hash="b" * 64, created_at=NOW - age,
    )  # fmt: skip


def stored_states() -> list[str]:
    with db.session() as session:
        return [s.rstrip("0") for s in session.scalars(select(PendingLaunch.state_hash))]


def store(*rows: PendingLaunch | ChartRead) -> None:
    with db.session() as session:
        session.add_all(rows)


def test_expired_pending_launches_are_purged_and_fresh_ones_kept(
    make_app: MakeApp, database_url: str
) -> None:
    upgrade(database_url)
    with make_app(database_url=database_url).app_context():
        store(pending("old", PURGE_AFTER + timedelta(minutes=1)), pending("new", timedelta()))
        assert purge_expired() == 1
        assert stored_states() == ["new"]


def test_a_start_of_flip_purges_expired_pending_launches(
    make_app: MakeApp, database_url: str
) -> None:
    upgrade(database_url)
    with make_app(database_url=database_url).app_context():
        store(pending("old", PURGE_AFTER + timedelta(minutes=1)))
    with make_app(database_url=database_url).app_context():  # a restart
        assert stored_states() == []


def test_the_worker_purges_expired_pending_launches_as_it_runs(
    make_app: MakeApp, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(database_url)
    app = make_app(database_url=database_url)
    monkeypatch.setattr(worker_module, "PURGE_EVERY_S", 0.0)
    with app.app_context():
        store(pending("old", PURGE_AFTER + timedelta(minutes=1)), pending("new", timedelta()))
        OutboxWorker(app, services().outbox, poll_s=0.01).run(once=True)
        assert stored_states() == ["new"]


def chart_read(launch: str, expires_in: timedelta) -> ChartRead:
    """A launch's kept chart read that expires `expires_in` from now (negative: expired)."""
    sealed = Fernet(Fernet.generate_key()).encrypt(b"{}").decode()
    return ChartRead(
        launch_hash=launch.ljust(64, "0"), sealed_results=sealed, read_at=NOW,
        expires_at=NOW + expires_in,
    )  # fmt: skip


def kept_reads() -> list[str]:
    with db.session() as session:
        return [h.rstrip("0") for h in session.scalars(select(ChartRead.launch_hash))]


def test_chart_reads_of_expired_launches_are_purged_on_start_and_by_the_worker(
    make_app: MakeApp, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(database_url)
    with make_app(database_url=database_url).app_context():
        store(chart_read("gone", -timedelta(minutes=1)), chart_read("live", timedelta(hours=1)))
    app = make_app(database_url=database_url)  # a restart
    monkeypatch.setattr(worker_module, "PURGE_EVERY_S", 0.0)
    with app.app_context():
        assert kept_reads() == ["live"]
        store(chart_read("later", -timedelta(seconds=1)))
        OutboxWorker(app, services().outbox, poll_s=0.01).run(once=True)
        assert kept_reads() == ["live"]


def test_a_portal_past_the_limit_tells_a_parent_in_her_language(
    make_app: MakeApp, tmp_path: Path
) -> None:
    client = make_app(database_url=sqlite(tmp_path), launch_rate_limit="1 per minute").test_client()
    spanish = {**from_address("10.0.0.10"), "HTTP_ACCEPT_LANGUAGE": "es"}
    client.get(f"/launch?iss={ISS}", environ_base=spanish)  # a portal's launch: no `launch`
    page = client.get(f"/launch?iss={ISS}", environ_base=spanish)
    assert page.status_code == 429
    text = page.get_data(as_text=True)
    assert '<html lang="es">' in text and "Demasiadas personas están entrando a la vez" in text
    assert "portal del paciente" in text and "chart" not in text
