"""Rows no configured key opens (a dropped or lost key): a page that says so, never a 500."""

from __future__ import annotations

from cryptography.fernet import Fernet
from sqlalchemy import update

from smart_app.core.db import db
from smart_app.core.models import LaunchSession, VisitDraft
from tests.e2e.conftest import launch
from tests.e2e.deployment import Deployment

NOTICE = "Flip could not open this visit's saved"


def sealed_with_a_lost_key() -> str:
    return Fernet(Fernet.generate_key()).encrypt(b"{}").decode()


def test_a_draft_no_key_opens_gives_the_chart_agenda_and_says_so(
    family_visit: Deployment,
) -> None:
    visit = launch(family_visit)
    added = visit.send(
        "POST", "/visit/agenda/items", {"text": "School letter", "source": "patient"}
    )
    assert added.status_code == 201, added.text
    assert NOTICE not in visit.page.text
    with family_visit.flip.app_context(), db.session() as session:
        session.execute(update(VisitDraft).values(sealed_state=sealed_with_a_lost_key()))

    again = launch(family_visit)  # Visit() asserts the page answered 200
    assert NOTICE in again.page.text
    assert "School letter" not in again.page.text
    texts = [item["text"] for item in again.get()["agenda"]]
    assert "Lacrosse travel without my vest" in texts  # the chart's items are all there
    added = again.send("POST", "/visit/agenda/items", {"text": "Sleep study", "source": "patient"})
    assert added.status_code == 201, added.text

    fresh = launch(family_visit)
    assert NOTICE not in fresh.page.text
    assert "Sleep study" in [item["text"] for item in fresh.get()["agenda"]]


def test_a_launch_no_key_opens_answers_what_to_do_not_500(family_visit: Deployment) -> None:
    visit = launch(family_visit)
    with family_visit.flip.app_context(), db.session() as session:
        session.execute(update(LaunchSession).values(sealed_context=sealed_with_a_lost_key()))
    answer = visit.browser.http.get(f"{visit.api}/visit", headers=visit.headers, timeout=30)
    assert answer.status_code == 401, answer.text
    body = answer.json()
    assert body["error"] == "saved_data_unreadable"
    assert "open it again from the patient's chart" in body["advice"].lower()
    page = visit.browser.get(visit.page.url)
    assert page.status_code == 401
    assert "Flip could not open this session" in page.text
    assert "Traceback" not in page.text
