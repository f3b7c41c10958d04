"""Key rotation: several keys open what any of them sealed; `flip keys rotate` re-seals."""

from __future__ import annotations

import os
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from flask import Flask
from sqlalchemy import select

from flip_cli import main as flip
from smart_app import create_app
from smart_app.core.config import DEV_SECRETS_FILE, ConfigurationError, load_settings
from smart_app.core.db import db
from smart_app.core.migrate import upgrade
from smart_app.core.models import LaunchSession, OutboxEntry, PendingLaunch, VisitDraft
from smart_app.core.resealing import reseal_all
from smart_app.core.vault import SealBroken, Vault
from smart_app.services import services
from smart_app.visit.drafts import DraftKey, with_added
from tests.app.conftest import MakeApp

KEY = DraftKey("https://ehr.example.org/fhir", "p1", "e1", "Practitioner/dr1")
SECRET = "a-signing-secret"


def new_key() -> str:
    return Fernet.generate_key().decode()


def add_item(text: str) -> None:
    services().drafts.change(KEY, lambda draft: with_added(draft, text, "clinician")[0])


def shown_items() -> list[str]:
    return [item.text for item in services().drafts.load(KEY).draft.added]


def test_a_draft_sealed_with_the_old_key_opens_once_a_new_key_is_added_first(
    make_app: MakeApp, database_url: str
) -> None:
    old, new = new_key(), new_key()
    upgrade(database_url)
    with make_app(database_url=database_url, token_encryption_key=old).app_context():
        add_item("Travel vest")
    with make_app(database_url=database_url, token_encryption_key=f"{new},{old}").app_context():
        assert shown_items() == ["Travel vest"]
        add_item("School letter")  # sealed with the newest key
    with make_app(database_url=database_url, token_encryption_key=new).app_context():
        assert shown_items() == ["Travel vest", "School letter"]


def test_keys_rotate_reseals_every_sealed_row_so_the_old_key_can_go(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = new_key(), new_key()
    upgrade(database_url)
    monkeypatch.setenv("FLIP_ENV", "production")
    monkeypatch.setenv("FLIP_SECRET_KEY", SECRET)
    monkeypatch.setenv("FLIP_DATABASE_URL", database_url)
    monkeypatch.setenv("FLIP_OUTBOX_WORKER", "false")
    sealed = Vault(old, SECRET).seal
    now = datetime.now(UTC)
    monkeypatch.setenv("FLIP_TOKEN_ENCRYPTION_KEY", old)
    app = create_app()
    with app.app_context():
        add_item("Vest before away games")
        with db.session() as session:
            session.add(
                PendingLaunch(
                    state_hash="s" * 64, sealed=sealed({"state": "x"}), browser_hash=None,
                    binding_hash="b" * 64, created_at=now,
                )
            )  # fmt: skip
            session.add(
                LaunchSession(
                    id_hash="l" * 64, iss=KEY.iss, patient="p1",
                    sealed_context=sealed({"iss": KEY.iss}),
                    sealed_tokens=sealed({"access_token": "at-secret"}),
                    browser_hash=None, created_at=now, expires_at=now + timedelta(hours=1),
                )
            )  # fmt: skip
            session.add(
                OutboxEntry(
                    plan_id="plan-1", launch_hash="l" * 64, iss=KEY.iss, patient="p1",
                    encounter="e1", sealed_plan=sealed({"goal": "Play the season"}),
                    sealed_writes=sealed({}), state="pending", next_attempt_at=now,
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
    app.extensions["flip_db"][0].dispose()

    monkeypatch.setenv("FLIP_TOKEN_ENCRYPTION_KEY", f"{new},{old}")
    result = CliRunner().invoke(flip, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "visit_draft: 1 re-sealed, 0 unreadable" in result.output
    assert "launch_session: 2 re-sealed, 0 unreadable" in result.output
    assert "pending_launch: 1 re-sealed, 0 unreadable" in result.output
    assert "outbox: 2 re-sealed, 0 unreadable" in result.output
    assert "older keys can now be removed" in result.output
    assert "Vest" not in result.output and "at-secret" not in result.output  # counts only

    monkeypatch.setenv("FLIP_TOKEN_ENCRYPTION_KEY", new)  # the old key is gone
    app = create_app()
    with app.app_context():
        assert shown_items() == ["Vest before away games"]
        opener = services().vault
        with db.session() as session:
            assert opener.open(session.scalars(select(PendingLaunch.sealed)).one())
            tokens = session.scalars(select(LaunchSession.sealed_tokens)).one()
            assert opener.open(tokens) == {"access_token": "at-secret"}
            plan = session.scalars(select(OutboxEntry.sealed_plan)).one()
            assert opener.open(plan) == {"goal": "Play the season"}
    app.extensions["flip_db"][0].dispose()
    with pytest.raises(SealBroken):
        Vault(old, SECRET).open(tokens)


def test_keys_rotate_counts_what_no_key_opens_and_leaves_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgrade(database_url)
    monkeypatch.setenv("FLIP_ENV", "production")
    monkeypatch.setenv("FLIP_SECRET_KEY", SECRET)
    monkeypatch.setenv("FLIP_DATABASE_URL", database_url)
    lost = Fernet(new_key()).encrypt(b'{"order": []}').decode()
    monkeypatch.setenv("FLIP_TOKEN_ENCRYPTION_KEY", new_key())
    app = create_app({"outbox_worker": False})
    with app.app_context(), db.session() as session:
        session.add(
            VisitDraft(
                iss=KEY.iss, patient="p1", encounter="e1", user_ref=KEY.user_ref,
                sealed_state=lost, version=1, updated_at=datetime.now(UTC),
            )
        )  # fmt: skip
    app.extensions["flip_db"][0].dispose()
    result = CliRunner().invoke(flip, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert "visit_draft: 0 re-sealed, 1 unreadable" in result.output
    assert "keep the older keys" in result.output
    app = create_app({"outbox_worker": False})
    with app.app_context(), db.session() as session:
        assert session.scalars(select(VisitDraft.sealed_state)).one() == lost
    app.extensions["flip_db"][0].dispose()


def test_a_draft_no_key_opens_loads_empty_and_the_next_change_starts_afresh(
    make_app: MakeApp, database_url: str
) -> None:
    upgrade(database_url)
    with make_app(database_url=database_url, token_encryption_key=new_key()).app_context():
        add_item("Typed before the key was lost")
    with make_app(database_url=database_url, token_encryption_key=new_key()).app_context():
        saved = services().drafts.load(KEY)
        assert saved.unreadable and saved.draft.added == ()
        add_item("Typed after")
        saved = services().drafts.load(KEY)
        assert not saved.unreadable
        assert [item.text for item in saved.draft.added] == ["Typed after"]


def test_development_keeps_its_generated_keys_in_the_instance_folder(
    make_app: MakeApp, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FLIP_SECRET_KEY", "FLIP_TOKEN_ENCRYPTION_KEY"):
        monkeypatch.delenv(name, raising=False)
    upgrade(database_url)
    instance = tmp_path / "not-yet-there"
    config = {"env": "development", "database_url": database_url, "outbox_worker": False}
    first = make_app(**config, instance_path=str(instance))
    with first.app_context():
        add_item("Before the restart")
    restarted = make_app(**config, instance_path=str(instance))  # a restart of `flip demo`
    with restarted.app_context():
        assert shown_items() == ["Before the restart"]
    assert restarted.instance_path == str(instance)
    secrets_file = instance / DEV_SECRETS_FILE
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    assert first.config["SECRET_KEY"] == restarted.config["SECRET_KEY"]


def test_several_keys_are_checked_one_by_one() -> None:
    with pytest.raises(ConfigurationError, match=r"not a Fernet key \(key 2 of 2\)"):
        load_settings({"env": "testing", "token_encryption_key": f"{new_key()},too-short"})


def test_a_draft_saved_while_keys_rotate_is_kept(
    make_app: MakeApp, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = new_key(), new_key()
    upgrade(database_url)
    with make_app(database_url=database_url, token_encryption_key=old).app_context():
        add_item("Before rotation")
    app = make_app(database_url=database_url, token_encryption_key=f"{new},{old}")
    clinician = threading.Thread(target=lambda: _in_context(app, "Typed during rotation"))
    reseal = Vault.reseal

    def slow_reseal(vault: Vault, sealed: str) -> str:
        # The rotation has read the row; the clinician saves a change before it writes.
        if not clinician.is_alive() and clinician.ident is None:
            clinician.start()
            clinician.join(timeout=10)
        return reseal(vault, sealed)

    monkeypatch.setattr(Vault, "reseal", slow_reseal)
    with app.app_context():
        counts = {c.table: c for c in reseal_all(services().vault)}
        assert counts["visit_draft"].resealed == 0  # the row changed meanwhile: not overwritten
        assert shown_items() == ["Before rotation", "Typed during rotation"]


def _in_context(app: Flask, text: str) -> None:
    with app.app_context():
        add_item(text)
